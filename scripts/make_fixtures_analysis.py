#!/usr/bin/python3
"""Fixtures for tests/test_pca.c, test_procrustes.c, test_ood.c, test_analysis.c.

Run with Debian's Python (numpy, scipy 1.10, sklearn 1.2):
    /usr/bin/python3 scripts/make_fixtures_analysis.py

Writes tests/fixtures/analysis/*.npy (inputs float32; expected values are
computed in float64 and stored as float64 .npy, which vv_npy_read converts to
float32) and the loss-log samples.  Deterministic (fixed seeds).

PCA reference: sklearn.decomposition.PCA(n_components=2).fit_transform on the
float32 inputs converted to float64.  sklearn 1.2 fixes signs from U
(u_based_decision=True); vitviz follows sklearn >= 1.5, where the entry of
largest magnitude of each component is positive.  We therefore apply that
rule explicitly to sklearn's components_ and flip the matching columns of the
transformed data (the same as svd_flip(u, v, u_based_decision=False)).

Procrustes reference: scipy.spatial.procrustes.

Outlier reference: what cleanlab >= 2.6 OutOfDistribution().fit_score(
features=X) computes (cleanlab/outlier.py _get_ood_features_scores, read from
its source; cleanlab itself is not installed here):
  knn = NearestNeighbors(n_neighbors=k, metric=m).fit(X); distances, indices =
  knn.kneighbors()  (X=None: sklearn drops each point itself by index, not the
  first neighbour), then cleanlab's correct_knn_distances_and_indices (exact
  duplicate rows, found with np.unique(axis=0), get distance 0 and come first),
  d = mean distance, score = exp(-d / max(median(d), 100 eps)) (or exp(-d)),
  scores with d below 100 epsneg (cosine) / sqrt(100 eps) (euclidean) set to 1.
  m = "cosine" for D > 3; else euclidean: scipy's euclidean function for
  N <= 100 and sklearn's "euclidean" above (cleanlab's decide_euclidean_metric).
"""
import json
import os

import numpy as np
from scipy.spatial import procrustes
from scipy.spatial.distance import euclidean as scipy_euclidean
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "analysis")


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr))


def clustered(rng, n, d, centers=4, spread=0.6):
    """Gaussian clusters with unequal column scales (distinct eigenvalues)."""
    c = rng.normal(size=(centers, d)) * 3.0
    lab = rng.integers(0, centers, size=n)
    x = c[lab] + rng.normal(size=(n, d)) * spread
    x *= np.linspace(2.0, 0.5, d)
    return x.astype(np.float32)


def pca_ref(x32):
    x = x32.astype(np.float64)
    p = PCA(n_components=2)
    y = p.fit_transform(x)
    comp = p.components_.copy()
    # sklearn >= 1.5 sign rule on the components (v-based)
    for c in range(2):
        j = np.argmax(np.abs(comp[c]))
        if comp[c, j] < 0:
            comp[c] *= -1
            y[:, c] *= -1
    # sanity: the transform equals the centred data on the flipped axes
    assert np.allclose(y, (x - x.mean(0)) @ comp.T, atol=1e-9)
    return y, comp


def correct_duplicates(x, distances, indices):
    """cleanlab's correct_knn_distances_and_indices, re-implemented."""
    k = distances.shape[1]
    out = np.zeros_like(distances)
    inv = np.unique(x, return_inverse=True, axis=0)[1].reshape(-1)
    groups = {}
    for i, g in enumerate(inv):
        groups.setdefault(g, []).append(i)
    for i in range(len(x)):
        same = [j for j in groups[inv[i]] if j != i]
        nsame = min(len(same), k)
        # the first nsame slots are zeros; then the nearest non-duplicates
        rest = [d for d, j in zip(distances[i], indices[i]) if j not in same]
        out[i, nsame:] = rest[: k - nsame]
    return out


def ood_ref(x32, k=None, metric=None):
    x = x32.astype(np.float64)
    n, d = x.shape
    if k is None:
        k = min(10, n - 1)
    if metric is None:
        metric = "cosine" if d > 3 else "euclidean"
    m = metric
    if metric == "euclidean" and n <= 100:
        m = scipy_euclidean
    knn = NearestNeighbors(n_neighbors=k, metric=m).fit(x)
    dist, ind = knn.kneighbors()
    dist = correct_duplicates(x, dist, ind)
    avg = dist[:, :k].mean(axis=1)
    tol = 100 * np.finfo(np.float64).epsneg if metric == "cosine" else np.sqrt(100 * np.finfo(np.float64).eps)
    scale = float(max(np.median(avg), 100 * np.finfo(np.float64).eps))
    med = np.exp(-avg / scale)
    med[avg < tol] = 1
    none = np.exp(-avg)
    none[avg < tol] = 1
    return avg, med, none


def chain_align(frames):
    out, disp = [], []
    prev = frames[0]
    for t, p in enumerate(frames):
        ref = frames[0] if t == 0 else out[-1]
        _, b, dis = procrustes(ref, p)
        out.append(b)
        disp.append(dis)
    return np.stack(out), np.array(disp)


def anchor_align(frames):
    out, disp = [], []
    for p in frames:
        _, b, dis = procrustes(frames[-1], p)
        out.append(b)
        disp.append(dis)
    return np.stack(out), np.array(disp)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240611)

    # --- PCA: N > D (scatter matrix) and N <= D (Gram matrix) ---
    pca_cases = {"pca_50x16": (50, 16), "pca_200x64": (200, 64), "pca_8x16": (8, 16), "pca_11x3": (11, 3)}
    for name, (n, d) in pca_cases.items():
        x = clustered(rng, n, d)
        y, comp = pca_ref(x)
        save(name + "_x", x)
        save(name + "_y", y)
        save(name + "_comp", comp)

    # --- Procrustes: a random pair, and a rotated+scaled+shifted+mirrored copy ---
    a = rng.normal(size=(50, 2)).astype(np.float32)
    b = rng.normal(size=(50, 2)).astype(np.float32)
    th = 0.7
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    c = (a.astype(np.float64) @ rot * 3.0 + [4.0, -1.0]) * [1.0, -1.0]
    c = (c + rng.normal(size=c.shape) * 0.05).astype(np.float32)
    for name, (p, q) in {"proc_rand": (a, b), "proc_rot": (a, c)}.items():
        m1, m2, dis = procrustes(p.astype(np.float64), q.astype(np.float64))
        save(name + "_a", p)
        save(name + "_b", q)
        save(name + "_m1", m1)
        save(name + "_m2", m2)
        save(name + "_disp", np.array([dis]))

    # --- three checkpoints of N=50, D=16 drifting embeddings: PCA, chain, anchor, scores ---
    base = clustered(rng, 50, 16)
    frames, embs = [], []
    for t in range(3):
        e = (base + rng.normal(size=base.shape) * (0.3 + 0.3 * t)).astype(np.float32)
        e = e @ np.linalg.qr(rng.normal(size=(16, 16)))[0].astype(np.float32)  # rotate the embedding space
        e = e.astype(np.float32)
        embs.append(e)
        frames.append(pca_ref(e)[0])
    ch, chd = chain_align(frames)
    an, and_ = anchor_align(frames)
    save("seq_emb", np.stack(embs))
    save("seq_pca", np.stack(frames))
    save("seq_chain", ch)
    save("seq_chain_disp", chd)
    save("seq_anchor", an)
    save("seq_anchor_disp", and_)
    save("seq_scores", np.stack([ood_ref(e)[1] for e in embs]))

    # --- outlier scores ---
    ood_cases = {}
    ood_cases["ood_50x16"] = clustered(rng, 50, 16)
    ood_cases["ood_200x64"] = clustered(rng, 200, 64)
    ood_cases["ood_11x16"] = clustered(rng, 11, 16)      # k = N - 1 = 10
    ood_cases["ood_6x8"] = clustered(rng, 6, 8)          # k = 5
    dup = clustered(rng, 60, 16)
    dup[5] = dup[17]                                     # a pair
    dup[40:52] = dup[3]                                  # 13 equal rows: more than k
    dup[30] = dup[31] * 2.5                              # same direction, not a duplicate
    ood_cases["ood_dup"] = dup
    ood_cases["ood_150x3"] = clustered(rng, 150, 3)      # euclidean, sklearn
    e2 = clustered(rng, 40, 2)
    e2[7] = e2[8]                                        # euclidean duplicate
    ood_cases["ood_40x2"] = e2                           # euclidean, scipy
    for name, x in ood_cases.items():
        avg, med, none = ood_ref(x)
        save(name + "_x", x)
        save(name + "_avg", avg)
        save(name + "_med", med)
        save(name + "_none", none)
    # explicit k and metric on the 200 x 64 case, explicit k (cosine) on 50 x 16
    avg, med, none = ood_ref(ood_cases["ood_200x64"], k=5, metric="euclidean")
    save("ood_200x64_k5e_avg", avg)
    save("ood_200x64_k5e_med", med)
    save("ood_200x64_k5e_none", none)
    avg, med, none = ood_ref(ood_cases["ood_50x16"], k=3, metric="cosine")
    save("ood_50x16_k3c_avg", avg)
    save("ood_50x16_k3c_med", med)
    save("ood_50x16_k3c_none", none)

    # --- loss logs ---
    state = {
        "best_metric": None,
        "epoch": 2.0,
        "global_step": 40,
        "log_history": [
            {"epoch": 0.25, "learning_rate": 4.5e-05, "loss": 2.3, "step": 5},
            {"epoch": 0.5, "learning_rate": 4.0e-05, "loss": float("nan"), "step": 10},
            {"epoch": 0.5, "eval_loss": 2.1, "eval_runtime": 1.5, "step": 10},
            {"epoch": 0.75, "learning_rate": 3.5e-05, "loss": float("inf"), "step": 15},
            {"epoch": 1.0, "learning_rate": 3.0e-05, "loss": 1.25, "step": 20},
            {"epoch": 1.5, "learning_rate": 2.0e-05, "loss": 0.75, "step": 30},
            {"epoch": 2.0, "eval_loss": 0.9, "step": 40},
            {"epoch": 2.0, "step": 40, "train_loss": 1.1, "train_runtime": 20.0},
        ],
        "max_steps": 40,
    }
    with open(os.path.join(OUT, "trainer_state.json"), "w") as f:
        json.dump(state, f, indent=2)  # writes NaN and Infinity tokens
    with open(os.path.join(OUT, "summary.csv"), "w") as f:
        f.write("epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n")
        f.write("0,2.5,2.25,40.0,80.0,0.001\n1,1.5,1.75,60.0,90.0,0.0005\n2,1.0,1.5,70.0,95.0,0.00025\n")
    with open(os.path.join(OUT, "user_loss.csv"), "w") as f:
        f.write("step,loss\n100,3.0\n300,2.0\n200,2.5\n")

    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
