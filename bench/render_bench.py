#!/usr/bin/python3
"""The matplotlib side of the render benchmark: the animation the original
workflow would make (README/REFERENCE section 1), done the usual way with
FuncAnimation + FFMpegWriter, from the same work folder vitviz renders.

Per frame: the scatter of all samples coloured by class (tab10), positions
eased between checkpoints like vitviz; the loss curve up to the current
step; the title with the step; the 8 outlier thumbnails.  H.264 crf 20,
preset medium, yuv420p, like vitviz's defaults.

usage: render_bench.py WORKDIR OUT.mp4 [--size 1920x1080] [--fps 30]
                       [--spc 1.0] [--hold 0]
Prints "frames N seconds S fps F" (the time of anim.save only).
"""
import argparse
import csv
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FFMpegWriter, FuncAnimation  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("out")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--spc", type=float, default=1.0)
    ap.add_argument("--hold", type=float, default=0.0)
    a = ap.parse_args()
    W, H = (int(v) for v in a.size.lower().split("x"))

    man = json.load(open(os.path.join(a.work, "manifest.json")))
    an = json.load(open(os.path.join(a.work, "analysis.json")))
    coords = np.load(os.path.join(a.work, "coords.npy"))
    with open(os.path.join(a.work, "samples.csv")) as f:
        rows = list(csv.DictReader(f))
    labels = np.array([int(r["label"]) for r in rows])
    paths = [r["path"] for r in rows]
    steps, losses = [], []
    with open(os.path.join(a.work, "loss.csv")) as f:
        for r in csv.DictReader(f):
            if r["loss"]:
                steps.append(float(r["step"]))
                losses.append(float(r["loss"]))
    T = coords.shape[0]
    ck_steps = [c["step"] for c in man["checkpoints"]]
    classes = man["classes"]
    cmap = plt.get_cmap("tab10")
    colors = cmap(labels % 10)

    dpi = 100
    fig = plt.figure(figsize=(W / dpi, H / dpi), dpi=dpi)
    gs = fig.add_gridspec(4, 4, width_ratios=[4, 4, 1, 1], height_ratios=[1, 1, 1, 1])
    ax = fig.add_subplot(gs[0:3, 0:2])
    axl = fig.add_subplot(gs[3, 0:2])
    thumbs = [fig.add_subplot(gs[i // 2, 2 + i % 2]) for i in range(8)]
    sc = ax.scatter(coords[0, :, 0], coords[0, :, 1], c=colors, s=12, alpha=0.75, linewidths=0)
    ax.set_xlim(-5.4, 5.4)
    ax.set_ylim(-5.4, 5.4)
    for k, name in enumerate(classes):
        ax.scatter([], [], color=cmap(k % 10), label=name)
    ax.legend(loc="upper right", fontsize=12)
    axl.set_xlim(0, max(steps + ck_steps))
    axl.set_ylim(0, max(losses) * 1.1)
    axl.set_title("Loss")
    (line,) = axl.plot([], [], lw=2)
    title = fig.suptitle("", fontsize=24)
    data_root = man["data"]
    ims = []
    for i, tax in enumerate(thumbs):
        tax.axis("off")
        ims.append(tax.imshow(np.zeros((32, 32, 3), np.uint8), interpolation="nearest"))

    def load(idx):
        p = os.path.join(data_root, paths[idx])
        try:
            return plt.imread(p)
        except OSError:
            return np.full((32, 32, 3), 0.5)

    n_frames = int(round((T * a.spc + a.hold) * a.fps))

    def state(t):
        seg = t / a.spc
        if seg >= T:
            return T - 1, T - 1, 1.0
        i = int(seg)
        if i == 0:
            return 0, 0, 1.0
        u = min(max((seg - i) / 0.7, 0.0), 1.0)
        return i - 1, i, u * u * (3 - 2 * u)

    shown = [-1]

    def update(k):
        fr, to, m = state(k / a.fps)
        xy = coords[fr] + (coords[to] - coords[fr]) * m
        sc.set_offsets(xy)
        step = ck_steps[fr] + (ck_steps[to] - ck_steps[fr]) * m
        n = np.searchsorted(steps, step, side="right")
        line.set_data(steps[:n], losses[:n])
        title.set_text("step %d  (%s)" % (ck_steps[to], man["checkpoints"][to]["name"]))
        if shown[0] != to:
            for j, e in enumerate(an["frames"][to]["top"][:8]):
                ims[j].set_data(load(e["index"]))
                thumbs[j].set_title("Outlier %d (%s)" % (j + 1, classes[labels[e["index"]]]), fontsize=10)
            shown[0] = to
        return [sc, line, title] + ims

    anim = FuncAnimation(fig, update, frames=n_frames, blit=False)
    writer = FFMpegWriter(fps=a.fps, codec="libx264",
                          extra_args=["-crf", "20", "-preset", "medium", "-pix_fmt", "yuv420p"])
    t0 = time.time()
    anim.save(a.out, writer=writer, dpi=dpi)
    dt = time.time() - t0
    print("frames %d seconds %.3f fps %.2f" % (n_frames, dt, n_frames / dt))


if __name__ == "__main__":
    main()
