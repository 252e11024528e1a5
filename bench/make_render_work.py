#!/usr/bin/python3
"""Write a synthetic vitviz work folder for rendering (docs/notes/workdir.md):
manifest.json, samples.csv, coords.npy, analysis.json, loss.csv, and small
PNG images (under <out>/data) for the samples that appear as outliers.

The embedding clouds start mixed and separate by class over the checkpoints,
the way fine-tuning does; the loss falls with noise, eval loss every few logs.

usage: make_render_work.py OUT [--n 10000] [--T 2] [--classes 10]
                                [--names a,b,...] [--seed 0] [--no-images]
"""
import argparse
import csv
import json
import os

import numpy as np

CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--T", type=int, default=2)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--names", default=None)
    ap.add_argument("--steps-per-ckpt", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-images", action="store_true")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    if a.names:
        names = a.names.split(",")
    elif a.classes <= 10:
        names = CIFAR[: a.classes]
    else:
        names = ["class %d" % i for i in range(a.classes)]
    C, n, T = len(names), a.n, a.T
    os.makedirs(a.out, exist_ok=True)
    data = os.path.join(a.out, "data")

    labels = np.arange(n) % C
    rng.shuffle(labels)
    # class centres on a circle; clouds contract around them over training
    ang = 2 * np.pi * np.arange(C) / C
    centres = np.stack([np.cos(ang), np.sin(ang)], 1) * 3.0
    noise = rng.normal(size=(n, 2))
    coords = np.zeros((T, n, 2), np.float32)
    for t in range(T):
        sep = (t + 1) / T
        spread = 2.6 - 1.9 * sep
        rot = 0.25 * t
        R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
        c = centres[labels] * sep @ R.T
        coords[t] = c + noise * spread + rng.normal(size=(n, 2)) * 0.15
    coords *= 5.0 / np.abs(coords).max()

    steps = [(t + 1) * a.steps_per_ckpt for t in range(T)]
    ckpts = []
    for t in range(T):
        ckpts.append({"name": "checkpoint-%d" % steps[t], "step": steps[t],
                      "epoch": round(steps[t] / (2.0 * a.steps_per_ckpt), 4),
                      "path": "/synthetic/run/checkpoint-%d" % steps[t], "format": "safetensors",
                      "fingerprint": "0" * 32, "has_logits": True, "id2label": names})
    man = {"format": 1, "vitviz_version": "0.1.0", "run": "/synthetic/vit-demo-run",
           "data": os.path.abspath(data), "data_kind": "folder", "n": n, "dim": 64,
           "num_labels": C, "pool": "cls", "classes": names, "checkpoints": ckpts}
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(man, f, ensure_ascii=False, indent=1)

    with open(os.path.join(a.out, "samples.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "path", "label", "label_name"])
        for i in range(n):
            w.writerow([i, "%s/img_%05d.png" % (names[labels[i]], i), labels[i], names[labels[i]]])
    np.save(os.path.join(a.out, "coords.npy"), coords)

    # loss: exponential decay with noise, logged every 5 steps; eval every 25
    last = steps[-1]
    log = []
    for s in range(5, last + 1, 5):
        loss = 0.15 + 2.15 * np.exp(-s / (0.35 * last)) + rng.normal() * 0.04
        ev = 0.25 + 2.0 * np.exp(-s / (0.4 * last)) if s % 25 == 0 else None
        log.append((s, s / (2.0 * a.steps_per_ckpt), max(loss, 0.01), ev))
    with open(os.path.join(a.out, "loss.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["step", "epoch", "loss", "eval_loss", "learning_rate"])
        for s, ep, lo, ev in log:
            w.writerow([s, "%.4f" % ep, "%.5f" % lo, "" if ev is None else "%.5f" % ev, "5e-05"])

    def loss_at(s):
        best = None
        for st, _, lo, _ in log:
            if st <= s:
                best = lo
        return best

    # outliers: the samples farthest from their class centre
    frames = []
    used = set()
    for t in range(T):
        cen = np.stack([coords[t][labels == k].mean(0) for k in range(C)])
        d = np.linalg.norm(coords[t] - cen[labels], axis=1)
        score = np.exp(-d / 2.0)
        order = np.lexsort((np.arange(n), score))[:8]
        top = []
        for i in order:
            dist = np.linalg.norm(coords[t][i] - cen, axis=1)
            pred = int(np.argmin(dist))
            top.append({"index": int(i), "score": float(score[i]), "label": int(labels[i]),
                        "predicted": pred})
            used.add(int(i))
        frames.append({"checkpoint": ckpts[t]["name"], "step": steps[t], "epoch": ckpts[t]["epoch"],
                       "loss": loss_at(steps[t]), "eval_loss": None, "disparity": 0.0, "top": top})
    an = {"format": 1, "align": "chain", "k": 10, "metric": "cosine", "ood_scale": "median",
          "display_scale": 1.0, "has_logits": True, "frames": frames}
    with open(os.path.join(a.out, "analysis.json"), "w") as f:
        json.dump(an, f, indent=1)

    if not a.no_images:
        from PIL import Image, ImageDraw
        for i in sorted(used):
            k = int(labels[i])
            r = np.random.default_rng(1000 + i)
            base = (r.integers(40, 200, 3)).tolist()
            img = Image.new("RGB", (32, 32), tuple(base))
            dr = ImageDraw.Draw(img)
            col = tuple(int(v) for v in (255 - np.array(base)))
            x0, y0 = r.integers(2, 12, 2)
            if k % 3 == 0:
                dr.ellipse([x0, y0, x0 + 18, y0 + 18], fill=col)
            elif k % 3 == 1:
                dr.rectangle([x0, y0, x0 + 16, y0 + 14], fill=col)
            else:
                dr.polygon([(x0, y0 + 18), (x0 + 9, y0), (x0 + 18, y0 + 18)], fill=col)
            px = np.asarray(img).astype(np.int16) + r.integers(-18, 18, (32, 32, 3))
            img = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8))
            d = os.path.join(data, names[k])
            os.makedirs(d, exist_ok=True)
            img.save(os.path.join(d, "img_%05d.png" % i))


if __name__ == "__main__":
    main()
