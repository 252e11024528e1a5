#!/usr/bin/python3
"""make_noisy_run.py - a fine-tuning run with label noise, for the training
dynamics (issue 13): a labelled image folder in which a known fraction of the
images sits in a wrong class folder, a small ViT fine-tuned on those noisy
labels long enough to start memorising them, and ~20 checkpoints in the
Hugging Face layout (model.safetensors, config.json,
preprocessor_config.json, trainer_state.json).

It reuses scripts/make_demo.py (images, preprocessing, Trainer-like loop
pieces, checkpoint writer) and scripts/vitref.py (the ViT):

1. Data: sklearn's bundled digits rendered and tinted as in the demo.  A
   stratified training set of N_TRAIN images; FLIP_FRACTION of them (chosen
   with the seed) are written into a uniformly drawn *other* class folder:
   OUT/images/<noisy class>/<dataset index>.png.  The other images
   "pre-train" the encoder on the demo's coarse 3-class task (clean labels).
2. Fine-tuning on OUT/images with a fresh 10-class head: AdamW, linear LR
   decay, no augmentation (so the flipped images can be memorised), a
   checkpoint every SAVE_STEPS steps -> OUT/run/checkpoint-<step>/.
3. Every checkpoint is reloaded from its safetensors file and run on the
   PNGs read back from OUT/images (ImageFolder order, ViTImageProcessor
   preprocessing); the logits of all checkpoints go to
   tests/fixtures/dynamics/noisy_logits.npy (float32 T x N x C) with
   noisy_labels.npy (given labels, int32), noisy_flipped.npy (int32 0/1) and
   noisy_steps.npy (int32).  Embeddings are not kept (tests use the logits).
4. The AUROC of detecting the flipped images is printed for each score
   (scripts/dynamics_ref.py computes them from the logits the way vitviz
   does).  With --vitviz PATH the script also runs `PATH run` on the run and
   measures the same AUROCs from WORK/dynamics.csv, the C pipeline end to
   end (this is what the README quotes).

Deterministic (fixed seeds, one thread).  Run from the repository root:
    /usr/bin/python3 scripts/make_noisy_run.py --out build/noisy [--vitviz ./vitviz]
"""
import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import make_demo  # noqa: E402
import vitref  # noqa: E402
import dynamics_ref  # noqa: E402

SEED = 20261206
N_TRAIN = 600
FLIP_FRACTION = 0.15
PRE_EPOCHS = 15
BATCH = 32
EPOCHS = 60
LR = 1.5e-3
N_CKPT = 20
FIX = "tests/fixtures/dynamics"


def make_images(out_dir):
    d = load_digits()
    n = len(d.target)
    rng = np.random.RandomState(SEED)
    imgs = np.stack([make_demo.render_digit(d.images[i], rng) for i in range(n)])
    idx = np.arange(n)
    pre, tr = train_test_split(idx, test_size=N_TRAIN, random_state=SEED % (2 ** 31),
                               stratify=d.target)
    tr = np.sort(tr)
    true = d.target[tr].astype(np.int64)
    noisy = true.copy()
    nflip = int(round(FLIP_FRACTION * len(tr)))
    flip = rng.choice(len(tr), size=nflip, replace=False)
    for j in flip:
        noisy[j] = (true[j] + 1 + rng.randint(9)) % 10     # a uniformly drawn other class
    img_dir = os.path.join(out_dir, "images")
    if os.path.isdir(img_dir):
        shutil.rmtree(img_dir)
    for c in make_demo.CLASS_NAMES:
        os.makedirs(os.path.join(img_dir, c))
    for j, i in enumerate(tr):
        p = os.path.join(img_dir, make_demo.CLASS_NAMES[noisy[j]], "%04d.png" % i)
        Image.fromarray(imgs[i], mode="RGB").save(p)
    # the flip list by file name, so it survives the ImageFolder reordering
    flipped = {"%s/%04d.png" % (make_demo.CLASS_NAMES[noisy[j]], tr[j]): int(true[j]) for j in flip}
    pre = np.sort(pre)
    return imgs, d.target.astype(np.int64), pre, flipped


def finetune(model, x, y, gen, run_dir, run_rel):
    cfg = model.vit.config
    torch.manual_seed(SEED + 2)
    model.classifier = torch.nn.Linear(cfg["hidden_size"], 10)
    torch.nn.init.normal_(model.classifier.weight, std=0.02)
    torch.nn.init.zeros_(model.classifier.bias)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(y) / BATCH)
    max_steps = EPOCHS * steps_per_epoch
    save_steps = max_steps // N_CKPT
    make_demo.SAVE_STEPS = save_steps
    make_demo.LOGGING_STEPS = steps_per_epoch
    make_demo.BATCH = BATCH
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (max_steps - s) / max_steps))
    history, step, tr_loss, last = [], 0, 0.0, 0
    model.train()
    for ep in range(EPOCHS):
        for bi, b in enumerate(make_demo.batches(len(y), BATCH, gen)):
            _, logits = model(x[b])
            loss = F.cross_entropy(logits, y[b])
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), make_demo.MAX_GRAD_NORM).item()
            opt.step()
            sched.step()
            step += 1
            tr_loss += loss.item()
            epoch = ep + (bi + 1) / steps_per_epoch
            if step % steps_per_epoch == 0:
                history.append({"epoch": epoch, "grad_norm": gn, "learning_rate": sched.get_last_lr()[0],
                                "loss": round(tr_loss / (step - last), 4), "step": step})
                tr_loss, last = 0.0, step
            if step % save_steps == 0 and step // save_steps <= N_CKPT:
                st = make_demo.trainer_state(history, step, epoch, max_steps, EPOCHS, 0.0, [None, None])
                make_demo.save_checkpoint(model, run_dir, run_rel, step, st)
                model.eval()
                with torch.no_grad():
                    acc = (model(x)[1].argmax(1) == y).float().mean().item()
                model.train()
                print("step %d epoch %.2f train loss %.4f acc on the noisy labels %.4f"
                      % (step, epoch, history[-1]["loss"] if history else float("nan"), acc), file=sys.stderr)


def checkpoint_logits(out_dir):
    """Reload every checkpoint and run it on the PNGs; T x N x C logits."""
    img_dir = os.path.join(out_dir, "images")
    classes, paths, ex, ey = make_demo.load_eval(img_dir)
    run_dir = os.path.join(out_dir, "run")
    ck = sorted((e.name for e in os.scandir(run_dir) if e.name.startswith("checkpoint-")),
                key=lambda s: int(s.split("-")[1]))
    out, steps = [], []
    for name in ck:
        d = os.path.join(run_dir, name)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        sd, _ = make_demo.load_safetensors(os.path.join(d, "model.safetensors"))
        model = vitref.ViTForImageClassification(cfg, 10)
        model.load_state_dict(sd, strict=True)
        model.eval()
        with torch.no_grad():
            out.append(model(ex)[1].numpy().astype(np.float32))
        steps.append(int(name.split("-")[1]))
    return paths, ey.numpy().astype(np.int32), np.stack(out), np.array(steps, dtype=np.int32)


def auroc(score, positive):
    """Mann-Whitney AUROC with ties counted half."""
    from scipy.stats import rankdata
    r = rankdata(score)
    npos = int(positive.sum())
    nneg = len(positive) - npos
    return (r[positive == 1].sum() - npos * (npos + 1) / 2.0) / (npos * nneg)


def score_table(scores, flipped):
    rows = []
    for name, s in scores:
        rows.append((name, auroc(s, flipped)))
    return rows


def vitviz_check(exe, out_dir, flipped):
    work = os.path.join(out_dir, "work")
    t0 = time.time()
    subprocess.run([exe, "run", os.path.join(out_dir, "run"), "--data", os.path.join(out_dir, "images"),
                    "--work", work, "-o", os.path.join(out_dir, "noisy.mp4"), "--quiet"], check=True)
    print("vitviz run: %.1f s" % (time.time() - t0), file=sys.stderr)
    with open(os.path.join(work, "dynamics.csv")) as f:
        rows = list(csv.DictReader(f))
    y = np.array([1 if r["path"] in flipped else 0 for r in rows])
    num = lambda k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows])
    logits_last = np.load(os.path.join(work, "logits", sorted(
        os.listdir(os.path.join(work, "logits")), key=lambda s: int(s.split("-")[1].split(".")[0]))[-1]))
    lab = np.array([int(r["label"]) for r in rows])
    p_last = dynamics_ref.softmax(logits_last.astype(np.float64))[np.arange(len(lab)), lab]
    return [("last-checkpoint self-confidence (1 - p)", auroc(1 - p_last, y)),
            ("1 - confidence", auroc(1 - num("confidence"), y)),
            ("-aum", auroc(-num("aum"), y)),
            ("forgetting", auroc(num("forgetting"), y)),
            ("label_issue", auroc(num("label_issue"), y))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build/noisy")
    ap.add_argument("--fixtures", default=FIX)
    ap.add_argument("--vitviz", default=None, help="also run this vitviz binary on the run")
    ap.add_argument("--skip-train", action="store_true", help="reuse OUT/run")
    ap.add_argument("--seed", type=int, default=SEED, help="another run (default %d)" % SEED)
    ap.add_argument("--flip", type=float, default=FLIP_FRACTION, help="fraction of flipped labels")
    a = ap.parse_args()
    globals()["SEED"], globals()["FLIP_FRACTION"] = a.seed, a.flip
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.fixtures, exist_ok=True)
    flip_path = os.path.join(a.out, "flipped.json")
    if not a.skip_train:
        imgs, target, pre, flipped = make_images(a.out)
        with open(flip_path, "w") as f:
            json.dump(flipped, f, indent=1, sort_keys=True)
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED + 1)
        cfg = vitref.hf_config(labels=make_demo.CLASS_NAMES, **make_demo.MODEL)
        model = vitref.ViTForImageClassification(cfg, 10)
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.init.trunc_normal_(m.weight, std=0.02)
                torch.nn.init.zeros_(m.bias)
        torch.nn.init.trunc_normal_(model.vit.embeddings.position_embeddings, std=0.02)
        torch.nn.init.trunc_normal_(model.vit.embeddings.cls_token, std=0.02)
        xp = torch.from_numpy(np.stack([make_demo.hf_preprocess(Image.fromarray(imgs[i], mode="RGB"))
                                        for i in pre]))
        yp = torch.tensor([make_demo.COARSE[int(t)] for t in target[pre]], dtype=torch.int64)
        make_demo.PRE_EPOCHS = PRE_EPOCHS
        make_demo.pretrain(model, xp, yp, gen)
        _, _, x, y = make_demo.load_eval(os.path.join(a.out, "images"))
        run_dir = os.path.join(a.out, "run")
        if os.path.isdir(run_dir):
            shutil.rmtree(run_dir)
        os.makedirs(run_dir)
        finetune(model, x, y, gen, run_dir, a.out.rstrip("/") + "/run")
    with open(flip_path) as f:
        flipped = json.load(f)
    paths, labels, logits, steps = checkpoint_logits(a.out)
    fl = np.array([1 if p in flipped else 0 for p in paths], dtype=np.int32)
    np.save(os.path.join(a.fixtures, "noisy_logits.npy"), logits)
    np.save(os.path.join(a.fixtures, "noisy_labels.npy"), labels)
    np.save(os.path.join(a.fixtures, "noisy_flipped.npy"), fl)
    np.save(os.path.join(a.fixtures, "noisy_steps.npy"), steps)
    d = dynamics_ref.dynamics(logits, labels, steps)
    t = logits.shape[0]
    p = d["p_given"]                                          # T x N
    best = max(auroc(1 - p[i], fl) for i in range(t))
    print("noisy run: %d checkpoints, %d images, %d flipped (%.0f%%); final accuracy on the noisy labels %.3f, "
          "on the true labels of the flipped images %.3f"
          % (t, len(labels), fl.sum(), 100 * fl.mean(), (logits[-1].argmax(1) == labels).mean(),
             np.mean([logits[-1][i].argmax() == flipped[paths[i]] for i in range(len(paths)) if fl[i]])))
    print("fitted flipped images (predicted = given label) per checkpoint:",
          " ".join("%d" % ((logits[i].argmax(1) == labels) & (fl == 1)).sum() for i in range(t)))
    rows = [("last-checkpoint self-confidence (1 - p)", auroc(1 - p[-1], fl)),
            ("best single checkpoint (1 - p, chosen knowing the flips)", best),
            ("1 - confidence", auroc(1 - d["confidence"], fl)),
            ("variability", auroc(d["variability"], fl)),
            ("1 - correctness", auroc(1 - d["correctness"], fl)),
            ("-aum", auroc(-d["aum"], fl)),
            ("forgetting", auroc(d["forgetting"], fl)),
            ("label_issue", auroc(d["label_issue"], fl))]
    for extra, s in dynamics_ref.candidates(d):
        rows.append(("candidate: " + extra, auroc(s, fl)))
    print("AUROC of detecting the flipped images (from the Python logits):")
    for name, v in rows:
        print("  %-58s %.4f" % (name, v))
    if a.vitviz:
        print("AUROC from vitviz's WORK/dynamics.csv (C pipeline end to end):")
        for name, v in vitviz_check(a.vitviz, a.out, flipped):
            print("  %-58s %.4f" % (name, v))
    print("%.1f s" % (time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
