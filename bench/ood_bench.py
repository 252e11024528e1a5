#!/usr/bin/python3
"""Reference timing for bench/ood.sh: cleanlab-style kNN outlier scores in Python.

    /usr/bin/python3 bench/ood_bench.py gen X.npy [N] [D] [KIND]  # float32 data, KIND clustered (default) or gaussian
    /usr/bin/python3 bench/ood_bench.py run X.npy [C_SCORES.npy] [REPEATS]

`run` times sklearn NearestNeighbors(n_neighbors=k+1, metric="cosine").fit(X)
.kneighbors(X), dropping the first column (the point itself), then cleanlab's
formula exp(-d / max(median(d), 100 eps)); it prints one line
"python n=.. seconds=.. peak_rss_mib=.. baseline_rss_mib=.." (best of
REPEATS) and, given vitviz's scores, how far they are from these.
"""
import resource
import sys
import time

import numpy as np


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gen(path, n=10000, d=768, kind="clustered"):
    rng = np.random.default_rng(7)
    if kind == "gaussian":  # no cluster structure at all: the worst case for pruning
        np.save(path, rng.normal(size=(n, d)).astype(np.float32))
        return
    centers = rng.normal(size=(10, d)).astype(np.float32)
    lab = rng.integers(0, 10, size=n)
    x = centers[lab] + rng.normal(size=(n, d)).astype(np.float32) * 0.8
    x[: n // 100] = rng.normal(size=(n // 100, d)) * 1.5  # a few outliers
    np.save(path, np.ascontiguousarray(x.astype(np.float32)))


def scores(x, k=10):
    from sklearn.neighbors import NearestNeighbors

    metric = "cosine" if x.shape[1] > 3 else "euclidean"
    knn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(x)
    dist, _ = knn.kneighbors(x)
    avg = dist[:, 1:].astype(np.float64).mean(axis=1)
    scale = float(max(np.median(avg), 100 * np.finfo(np.float64).eps))
    s = np.exp(-avg / scale)
    tol = 100 * np.finfo(np.float64).epsneg if metric == "cosine" else np.sqrt(100 * np.finfo(np.float64).eps)
    s[avg < tol] = 1
    return s


def run(path, c_scores=None, reps=3):
    import sklearn.neighbors  # noqa: F401  (import cost not timed)

    x = np.load(path)
    base = rss_mib()
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        s = scores(x, min(10, len(x) - 1))
        best = min(best, time.perf_counter() - t0)
    print(f"python n={len(x)} seconds={best:.4f} peak_rss_mib={rss_mib():.1f} baseline_rss_mib={base:.1f}")
    if c_scores:
        c = np.load(c_scores).astype(np.float64)
        top_py = np.lexsort((np.arange(len(s)), s.astype(np.float32)))[:8]
        top_c = np.lexsort((np.arange(len(c)), c.astype(np.float32)))[:8]
        print(f"parity max_abs_diff={np.max(np.abs(c - s)):.2e} top8_equal={bool(np.all(top_py == top_c))}")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], *(int(v) for v in sys.argv[3:5]), *sys.argv[5:6])
    else:
        run(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None, int(sys.argv[4]) if len(sys.argv) > 4 else 3)
