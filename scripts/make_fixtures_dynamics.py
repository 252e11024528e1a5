#!/usr/bin/python3
"""Fixtures for tests/test_dynamics.c: the training-dynamics metrics computed
the straightforward NumPy way (scripts/dynamics_ref.py, float64).

  syn_*          a synthetic run: T = 7 checkpoints, N = 60 samples, C = 5
                 classes; logits partly rounded to integers so that rows
                 have ties (argmax takes the first), coordinates and outlier
                 scores with ties; expected values in syn_expected.csv
  noisy_*        the noisy-label run of scripts/make_noisy_run.py (its
                 logits are committed); expected values in noisy_expected.csv

Expected CSVs: one row per sample, the columns of dynamics.npy
(analysis/analysis_dynamics.h) with %.17g, "nan" where unknown.

Run from the repository root:  /usr/bin/python3 scripts/make_fixtures_dynamics.py
(after make_noisy_run.py when the noisy run changed).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import dynamics_ref  # noqa: E402

OUT = "tests/fixtures/dynamics"
COLS = ["confidence", "variability", "correctness", "aum", "forgetting", "learned_at", "label_issue",
        "label_issue_rank", "movement", "persistent_outlier", "usual_prediction"]
TOP = 8


def write_expected(path, d, n):
    with open(path, "w") as f:
        f.write(",".join(COLS) + "\n")
        for i in range(n):
            row = []
            for c in COLS:
                if c not in d:
                    row.append("nan")
                    continue
                v = float(d[c][i])
                row.append("nan" if np.isnan(v) else "%.17g" % v)
            f.write(",".join(row) + "\n")


def main():
    rng = np.random.RandomState(1306)
    t, n, c = 7, 60, 5
    labels = rng.randint(0, c, size=n).astype(np.int32)
    logits = rng.normal(size=(t, n, c)) * 2.0
    for s in range(t):                       # the model learns the labels over time
        logits[s, np.arange(n), labels] += 0.6 * s
    logits[:, ::4] = np.round(logits[:, ::4])          # ties within rows
    logits[:, 5] = 0.0                                 # all equal: class 0 wins
    logits[:, 6, :] = -3.0
    logits[:, 6, labels[6]] = 4.0                      # always right
    logits = logits.astype(np.float32)
    steps = np.array([0, 10, 25, 40, 60, 90, 130], dtype=np.int32)
    coords = (rng.normal(size=(t, n, 2)) * 2).astype(np.float32)
    scores = rng.uniform(size=(t, n)).astype(np.float32)
    scores[:, 10:20] = np.round(scores[:, 10:20] * 4) / 4      # ties among scores
    d = dynamics_ref.dynamics(logits, labels, steps, coords, scores, k=TOP)
    np.save(os.path.join(OUT, "syn_logits.npy"), logits)
    np.save(os.path.join(OUT, "syn_labels.npy"), labels)
    np.save(os.path.join(OUT, "syn_steps.npy"), steps)
    np.save(os.path.join(OUT, "syn_coords.npy"), coords)
    np.save(os.path.join(OUT, "syn_scores.npy"), scores)
    write_expected(os.path.join(OUT, "syn_expected.csv"), d, n)

    lg = np.load(os.path.join(OUT, "noisy_logits.npy"))
    lab = np.load(os.path.join(OUT, "noisy_labels.npy"))
    st = np.load(os.path.join(OUT, "noisy_steps.npy"))
    d = dynamics_ref.dynamics(lg, lab, st)
    write_expected(os.path.join(OUT, "noisy_expected.csv"), d, lg.shape[1])
    print("wrote %s" % OUT)


if __name__ == "__main__":
    main()
