"""dynamics_ref.py - the training-dynamics metrics of `vitviz analyze`
(analysis/analysis_dynamics.h) written the straightforward NumPy way, in
float64, as the reference for tests/test_dynamics.c and for the AUROCs that
scripts/make_noisy_run.py prints.  Used only to make fixtures.

Definitions (per sample i, over the T checkpoints in step order; p_t = the
softmax probability of the given label at checkpoint t, correct_t = the
argmax (first on ties) is the given label):
  confidence  = mean_t p_t
  variability = population standard deviation of p_t (ddof 0, Cartography)
  correctness = mean_t correct_t
  aum         = mean_t (logit of the given label - largest other logit)
  forgetting  = #{t < T-1 : correct_t and not correct_{t+1}}
  learned_at  = step of the first checkpoint from which every prediction is
                correct; NaN (empty in the CSV) when the last one is wrong
  usual_pred  = the class other than the given label predicted most often
                (ties: the smaller class index); -1 if always the label
  label_issue = (1 + mean confidence of the samples with the same given
                label - confidence) / 2; see make_noisy_run.py's table
  label_issue_rank = rank by label_issue, highest first, ties by index
  movement    = sum_t ||coords[t+1, i] - coords[t, i]||_2
  persistent_outlier = #{t : i is among the k lowest scores[t] (ties by index)}
"""
import numpy as np


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def dynamics(logits, labels, steps, coords=None, scores=None, k=8):
    lg = logits.astype(np.float64)
    t, n, c = lg.shape
    lab = np.asarray(labels, dtype=np.int64)
    ar = np.arange(n)
    prob = softmax(lg)
    p = prob[:, ar, lab]                                   # T x N
    pred = lg.argmax(axis=2)                               # T x N, first on ties
    corr = pred == lab[None, :]
    other = lg.copy()
    other[:, ar, lab] = -np.inf
    margin = lg[:, ar, lab] - other.max(axis=2)
    pother = prob.copy()
    pother[:, ar, lab] = -np.inf
    pmargin = p - pother.max(axis=2)
    forget = (corr[:-1] & ~corr[1:]).sum(axis=0) if t > 1 else np.zeros(n, dtype=np.int64)
    learned = np.full(n, np.nan)
    for i in range(n):
        if corr[-1, i]:
            j = t - 1
            while j > 0 and corr[j - 1, i]:
                j -= 1
            learned[i] = steps[j]
    usual = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        cnt = np.bincount(pred[:, i], minlength=c)
        cnt[lab[i]] = 0
        if cnt.max() > 0:
            usual[i] = int(cnt.argmax())
    d = {
        "p_given": p,
        "confidence": p.mean(axis=0),
        "variability": p.std(axis=0),
        "correctness": corr.mean(axis=0),
        "aum": margin.mean(axis=0),
        "forgetting": forget.astype(np.float64),
        "learned_at": learned,
        "usual_prediction": usual,
        "pmargin": pmargin.mean(axis=0),
        "pmargin_t": pmargin,
        "labels": lab,
    }
    conf = d["confidence"]
    class_conf = np.array([conf[lab == k].mean() if (lab == k).any() else 0.0 for k in range(c)])
    d["label_issue"] = (1.0 + class_conf[lab] - conf) / 2.0
    order = sorted(range(n), key=lambda i: (-d["label_issue"][i], i))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    d["label_issue_rank"] = rank
    if coords is not None:
        cd = coords.astype(np.float64)
        d["movement"] = np.sqrt(((cd[1:] - cd[:-1]) ** 2).sum(axis=2)).sum(axis=0) if t > 1 else np.zeros(n)
    if scores is not None:
        po = np.zeros(n)
        kk = min(k, n)
        for s in scores.astype(np.float64):
            top = sorted(range(n), key=lambda i: (s[i], i))[:kk]
            po[top] += 1
        d["persistent_outlier"] = po
    return d


def class_relative(x, lab):
    """x[t, i] minus the median of x[t, j] over the samples j with i's label."""
    r = np.zeros_like(x)
    for k in np.unique(lab):
        m = lab == k
        r[:, m] = x[:, m] - np.median(x[:, m], axis=1, keepdims=True)
    return r


def rank01(x):
    from scipy.stats import rankdata
    return rankdata(x) / len(x)


def candidates(d):
    """Other scores measured before label_issue was chosen."""
    return [("1 - probability margin (mean over checkpoints)", -d["pmargin"]),
            ("class-relative probability margin", -class_relative(d["pmargin_t"], d["labels"]).mean(axis=0)),
            ("rank mean of 1 - confidence and -aum", rank01(1 - d["confidence"]) + rank01(-d["aum"])),
            ("1 - confidence + (1 - correctness)", 2 - d["confidence"] - d["correctness"])]
