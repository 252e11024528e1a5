#!/usr/bin/python3
"""make_demo.py - build the bundled classroom demo under data/demo/ and its
parity fixtures under tests/fixtures/demo/.

A real (small) fine-tuning run, laid out exactly as the Hugging Face Trainer
writes one:

1. Data: sklearn's bundled 8x8 digits (no download), upscaled to 32x32
   (Pillow bicubic + a mild Gaussian blur) and tinted per image (a random
   stroke hue on a slightly coloured dark background), so the three channels
   differ.  A stratified 80/20 split; the ~360 eval images are written as an
   image folder data/demo/images/<digit>/<dataset index>.png.
2. Model: scripts/vitref.py ViTForImageClassification, 32x32 input, 4x4
   patches, hidden 48, 4 layers, 4 heads, MLP 96.
3. "Pre-training" on a coarse 3-class labelling of the training digits
   (round 0/6/8/9, straight 1/4/7, curvy 2/3/5); then fine-tuning with a fresh
   10-class head: AdamW, linear-decay LR (the Trainer's defaults otherwise:
   betas 0.9/0.999, eps 1e-8, no weight decay, max_grad_norm 1.0), a training
   loss log every LOGGING_STEPS, an evaluation and a checkpoint every
   SAVE_STEPS (save_strategy="steps"), plus an evaluation at step 0
   (eval_on_start=True).
4. Each data/demo/run/checkpoint-<step>/ holds model.safetensors (F32),
   config.json, preprocessor_config.json and trainer_state.json (history up
   to that step).  optimizer.pt, scheduler.pt, rng_state.pth and
   training_args.bin are left out on purpose (pickles, not needed).
5. Verification: every checkpoint is reloaded with the safetensors reader
   below into a fresh model, the eval images are read back from the PNGs with
   ViTImageProcessor's preprocessing, and the accuracy must equal the logged
   eval_accuracy.  The CLS embeddings and logits of the first and last
   checkpoints are saved as tests/fixtures/demo/<checkpoint>.{emb,logits}.npy
   with samples.txt (the image order: ImageFolder order).

Deterministic: fixed seeds, one thread, deterministic algorithms.  The model
weights and images are reproducible bit for bit on the same software; only
the eval_runtime / *_per_second fields of trainer_state.json are wall-clock
measurements and change from run to run.

Run from the repository root:  /usr/bin/python3 scripts/make_demo.py
"""
import argparse
import colorsys
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True          # no scripts/__pycache__ in the tree
import vitref  # noqa: E402

SEED = 20240531
IMAGE_SIZE = 32
CLASS_NAMES = [str(d) for d in range(10)]      # folder names == id2label
COARSE = {0: 0, 6: 0, 8: 0, 9: 0,              # round: loops
          1: 1, 4: 1, 7: 1,                    # straight strokes
          2: 2, 3: 2, 5: 2}                    # open curves
MODEL = dict(hidden_size=48, num_hidden_layers=4, num_attention_heads=4,
             intermediate_size=96, image_size=IMAGE_SIZE, patch_size=4,
             num_channels=3, layer_norm_eps=1e-12, qkv_bias=True)

PRE_EPOCHS = 30
PRE_LR = 1e-3
PRE_BATCH = 32

BATCH = 32
EPOCHS = 10
LR = 2e-3
LOGGING_STEPS = 5
SAVE_STEPS = 15
EVAL_BATCH = 64
MAX_GRAD_NORM = 1.0
SHIFT = 2


# ---------------------------------------------------------------- data

def render_digit(pix8, rng):
    """8x8 sklearn digit (0..16) -> 32x32x3 uint8, tinted."""
    a = np.clip(np.rint(pix8 * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    im = Image.fromarray(a, mode="L")
    im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC)
    im = im.filter(ImageFilter.GaussianBlur(radius=0.7))
    alpha = np.asarray(im, dtype=np.float64) / 255.0
    h = rng.uniform(0.0, 1.0)
    fg = np.array(colorsys.hsv_to_rgb(h, rng.uniform(0.45, 0.9), rng.uniform(0.85, 1.0)))
    hb = (h + 0.5 + rng.uniform(-0.15, 0.15)) % 1.0
    bg = np.array(colorsys.hsv_to_rgb(hb, rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.28)))
    rgb = bg[None, None, :] + (fg - bg)[None, None, :] * alpha[:, :, None]
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def hf_preprocess(img):
    """ViTImageProcessor on a PIL image: convert RGB, resize 32x32 bilinear
    (Pillow), rescale by 1/255 in float64 then float32, (x - 0.5) / 0.5;
    returns CHW float32."""
    img = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    x = np.asarray(img).astype(np.float64) * 0.00392156862745098
    x = x.astype(np.float32)
    mean = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    std = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def make_images(out_dir):
    """Render all digits, split, write eval PNGs; returns dict of arrays."""
    d = load_digits()
    n = len(d.target)
    rng = np.random.RandomState(SEED)
    imgs = np.stack([render_digit(d.images[i], rng) for i in range(n)])
    idx = np.arange(n)
    tr, ev = train_test_split(idx, test_size=0.2, random_state=SEED % (2 ** 31),
                  stratify=d.target)
    tr = np.sort(tr)
    img_dir = os.path.join(out_dir, "images")
    if os.path.isdir(img_dir):
        shutil.rmtree(img_dir)
    for c in CLASS_NAMES:
        os.makedirs(os.path.join(img_dir, c))
    for i in ev:
        p = os.path.join(img_dir, CLASS_NAMES[d.target[i]], "%04d.png" % i)
        Image.fromarray(imgs[i], mode="RGB").save(p)
    return imgs, d.target.astype(np.int64), tr


def image_folder(root):
    """torchvision ImageFolder order: classes by sorted folder name, files
    sorted by name.  Returns (relative paths, class indices)."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    paths, labels = [], []
    for ci, c in enumerate(classes):
        for f in sorted(e.name for e in os.scandir(os.path.join(root, c)) if e.is_file()):
            paths.append(c + "/" + f)
            labels.append(ci)
    return classes, paths, np.array(labels, dtype=np.int64)


def load_eval(root):
    classes, paths, labels = image_folder(root)
    x = np.stack([hf_preprocess(Image.open(os.path.join(root, p))) for p in paths])
    return classes, paths, torch.from_numpy(x), torch.from_numpy(labels)


# ---------------------------------------------------------------- safetensors

_NP_DTYPE = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def load_safetensors(path):
    """A minimal, checking safetensors reader -> dict name -> torch tensor."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: truncated header length" % path)
    (hlen,) = struct.unpack("<Q", raw[:8])
    if hlen > len(raw) - 8:
        raise ValueError("%s: header runs past the file" % path)
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    out, end = {}, 0
    ents = sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
              key=lambda kv: kv[1]["data_offsets"][0])
    for name, e in ents:
        b, en = e["data_offsets"]
        dt = np.dtype(_NP_DTYPE[e["dtype"]])
        if b != end or en < b or en > len(data) or \
           en - b != int(np.prod(e["shape"], dtype=np.int64)) * dt.itemsize:
            raise ValueError("%s: bad data_offsets for %s" % (path, name))
        end = en
        a = np.frombuffer(data[b:en], dtype=dt).reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy())
    if end != len(data):
        raise ValueError("%s: file length does not match the header" % path)
    return out, header.get("__metadata__")


# ---------------------------------------------------------------- training

def augment(xb, gen):
    """Random translation by up to SHIFT pixels (edges replicated).  The
    preprocessing is pointwise and the resize is the identity at 32x32, so
    shifting the normalised tensor equals preprocessing the shifted image."""
    if SHIFT == 0:
        return xb
    n = xb.shape[0]
    p = F.pad(xb, (SHIFT, SHIFT, SHIFT, SHIFT), mode="replicate")
    off = torch.randint(0, 2 * SHIFT + 1, (n, 2), generator=gen)
    return torch.stack([p[i, :, off[i, 0]:off[i, 0] + IMAGE_SIZE, off[i, 1]:off[i, 1] + IMAGE_SIZE]
                        for i in range(n)])


def batches(n, bs, gen):
    perm = torch.randperm(n, generator=gen)
    return [perm[i:i + bs] for i in range(0, n, bs)]


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    t0 = time.perf_counter()
    tot, correct = 0.0, 0
    nb = 0
    for i in range(0, len(y), EVAL_BATCH):
        _, logits = model(x[i:i + EVAL_BATCH])
        tot += F.cross_entropy(logits, y[i:i + EVAL_BATCH], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + EVAL_BATCH]).sum().item()
        nb += 1
    rt = time.perf_counter() - t0
    model.train()
    return tot / len(y), correct / len(y), rt, nb


def pretrain(model, x, y, gen, ex=None, ey=None):
    """Train on the coarse labels with a temporary 3-class head."""
    cfg = model.vit.config
    model.classifier = torch.nn.Linear(cfg["hidden_size"], 3)
    opt = torch.optim.AdamW(model.parameters(), lr=PRE_LR, weight_decay=0.0)
    steps = PRE_EPOCHS * math.ceil(len(y) / PRE_BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (steps - s) / steps))
    model.train()
    for ep in range(PRE_EPOCHS):
        tot, cor = 0.0, 0
        for b in batches(len(y), PRE_BATCH, gen):
            _, logits = model(augment(x[b], gen))
            loss = F.cross_entropy(logits, y[b])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            opt.step()
            sched.step()
            tot += loss.item() * len(b)
            cor += (logits.argmax(1) == y[b]).sum().item()
        eacc = float("nan")
        if ex is not None:
            eacc = evaluate(model, ex, ey)[1]
        print("pretrain epoch %d loss %.4f acc %.4f eval acc %.4f"
              % (ep + 1, tot / len(y), cor / len(y), eacc), file=sys.stderr)


def trainer_state(history, step, epoch, max_steps, n_epochs, total_flos, best):
    """trainer_state.json as transformers 4.46's TrainerState.save_to_json."""
    return {
        "best_metric": best[0],
        "best_model_checkpoint": best[1],
        "epoch": epoch,
        "eval_steps": SAVE_STEPS,
        "global_step": step,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": [dict(h) for h in history],
        "logging_steps": LOGGING_STEPS,
        "max_steps": max_steps,
        "num_input_tokens_seen": 0,
        "num_train_epochs": n_epochs,
        "save_steps": SAVE_STEPS,
        "stateful_callbacks": {
            "TrainerControl": {
                "args": {
                    "should_epoch_stop": False,
                    "should_evaluate": False,
                    "should_log": False,
                    "should_save": True,
                    "should_training_stop": step >= max_steps,
                },
                "attributes": {},
            }
        },
        "total_flos": total_flos,
        "train_batch_size": BATCH,
        "trial_name": None,
        "trial_params": None,
    }


def save_checkpoint(model, run_dir, run_rel, step, state):
    d = os.path.join(run_dir, "checkpoint-%d" % step)
    os.makedirs(d)
    sd = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    vitref.save_safetensors(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
    cfg = vitref.hf_config(labels=CLASS_NAMES, **MODEL)
    vitref.write_json(os.path.join(d, "config.json"), cfg)
    vitref.write_json(os.path.join(d, "preprocessor_config.json"),
              vitref.hf_preprocessor(size=IMAGE_SIZE))
    vitref.write_json(os.path.join(d, "trainer_state.json"), state)
    return d


def finetune(model, x, y, ex, ey, gen, run_dir, run_rel):
    """Fresh 10-class head; Trainer-like loop with logs, evals and saves."""
    cfg = model.vit.config
    torch.manual_seed(SEED + 2)
    model.classifier = torch.nn.Linear(cfg["hidden_size"], 10)
    torch.nn.init.normal_(model.classifier.weight, std=0.02)   # ViT _init_weights
    torch.nn.init.zeros_(model.classifier.bias)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8,
                weight_decay=0.0)
    steps_per_epoch = math.ceil(len(y) / BATCH)
    max_steps = EPOCHS * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: max(0.0, (max_steps - s) / max(1, max_steps)))
    # Trainer.floating_point_ops: 6 * tokens * non-embedding parameters, where
    # "tokens" is the element count of the main input (pixel_values).
    n_noemb = sum(p.numel() for n, p in model.named_parameters()
              if not n.startswith("vit.embeddings"))
    history, table = [], []
    best = [None, None]
    total_flos = 0.0

    def do_eval(step, epoch):
        loss, acc, rt, nb = evaluate(model, ex, ey)
        history.append({"epoch": epoch, "eval_accuracy": acc, "eval_loss": loss,
                "eval_runtime": round(rt, 4),
                "eval_samples_per_second": round(len(ey) / rt, 3),
                "eval_steps_per_second": round(nb / rt, 3), "step": step})
        return loss, acc

    loss0, acc0 = do_eval(0, 0)            # eval_on_start
    print("step 0 eval loss %.4f acc %.4f" % (loss0, acc0), file=sys.stderr)
    step, tr_loss, last_logged = 0, 0.0, 0
    model.train()
    for ep in range(EPOCHS):
        for bi, b in enumerate(batches(len(y), BATCH, gen)):
            _, logits = model(augment(x[b], gen))
            loss = F.cross_entropy(logits, y[b])
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM).item()
            opt.step()
            sched.step()
            step += 1
            tr_loss += loss.item()
            total_flos += 6.0 * x[b].numel() * n_noemb
            epoch = ep + (bi + 1) / steps_per_epoch
            if step % LOGGING_STEPS == 0:
                history.append({"epoch": epoch, "grad_norm": gn,
                        "learning_rate": sched.get_last_lr()[0],
                        "loss": round(tr_loss / (step - last_logged), 4),
                        "step": step})
                tr_loss, last_logged = 0.0, step
            if step % SAVE_STEPS == 0:
                el, acc = do_eval(step, epoch)
                name = "checkpoint-%d" % step
                if best[0] is None or acc > best[0]:
                    best[0], best[1] = acc, run_rel + "/" + name
                st = trainer_state(history, step, epoch, max_steps, EPOCHS,
                           total_flos, best)
                save_checkpoint(model, run_dir, run_rel, step, st)
                table.append((step, epoch, el, acc))
                print("step %d epoch %.2f eval loss %.4f acc %.4f" % (step, epoch, el, acc),
                      file=sys.stderr)
    return table, max_steps, (loss0, acc0)


# ---------------------------------------------------------------- verify

def verify(out_dir, fix_dir):
    """Reload each checkpoint, re-evaluate from the PNGs, write fixtures."""
    img_dir = os.path.join(out_dir, "images")
    classes, paths, ex, ey = load_eval(img_dir)
    run_dir = os.path.join(out_dir, "run")
    ck = sorted((e.name for e in os.scandir(run_dir) if e.name.startswith("checkpoint-")),
            key=lambda s: int(s.split("-")[1]))
    for f in os.listdir(fix_dir):               # drop fixtures of older runs
        if f.endswith(".emb.npy") or f.endswith(".logits.npy"):
            os.remove(os.path.join(fix_dir, f))
    rows = []
    for i, name in enumerate(ck):
        d = os.path.join(run_dir, name)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        with open(os.path.join(d, "trainer_state.json")) as f:
            st = json.load(f)
        labels = [cfg["id2label"][str(k)] for k in range(len(cfg["id2label"]))]
        assert labels == classes, "id2label order differs from the image folders"
        sd, meta = load_safetensors(os.path.join(d, "model.safetensors"))
        assert meta == {"format": "pt"}
        model = vitref.ViTForImageClassification(cfg, len(labels))
        model.load_state_dict(sd, strict=True)
        model.eval()
        vit = vitref.ViTModel(cfg, add_pooling_layer=False)
        vit.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("vit.")},
                    strict=True)
        vit.eval()
        with torch.no_grad():
            emb = vit(ex)[:, 0].contiguous()
            logits = model.classifier(emb)
        acc = (logits.argmax(1) == ey).sum().item() / len(ey)
        ev = [h for h in st["log_history"] if "eval_accuracy" in h and h["step"] == st["global_step"]]
        assert len(ev) == 1 and abs(ev[0]["eval_accuracy"] - acc) < 1e-9, \
            "%s: accuracy %.6f != logged %s" % (name, acc, ev)
        rows.append((name, st["global_step"], st["epoch"], ev[0]["eval_loss"], acc))
        if i == 0 or i == len(ck) - 1:
            np.save(os.path.join(fix_dir, name + ".emb.npy"), emb.numpy().astype(np.float32))
            np.save(os.path.join(fix_dir, name + ".logits.npy"),
                logits.numpy().astype(np.float32))
    assert rows[-1][4] > rows[0][4] + 0.5, "accuracy did not rise"
    with open(os.path.join(fix_dir, "samples.txt"), "w") as f:
        for p in paths:
            f.write(p + "\n")
    return rows


def du(path):
    tot = 0
    for r, _, fs in os.walk(path):
        for f in fs:
            tot += os.path.getsize(os.path.join(r, f))
    return tot


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/demo")
    ap.add_argument("--fixtures", default="tests/fixtures/demo")
    ap.add_argument("--verify-only", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    os.makedirs(a.fixtures, exist_ok=True)
    if not a.verify_only:
        os.makedirs(a.out, exist_ok=True)
        imgs, target, tr = make_images(a.out)
        x = torch.from_numpy(np.stack([hf_preprocess(Image.fromarray(imgs[i], mode="RGB"))
                           for i in tr]))
        y = torch.from_numpy(target[tr])
        yc = torch.tensor([COARSE[int(t)] for t in target[tr]], dtype=torch.int64)
        _, _, ex, ey = load_eval(os.path.join(a.out, "images"))
        print("train %d eval %d" % (len(y), len(ey)), file=sys.stderr)

        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED + 1)
        cfg = vitref.hf_config(labels=CLASS_NAMES, **MODEL)
        model = vitref.ViTForImageClassification(cfg, 10)
        for m in model.modules():          # ViTPreTrainedModel._init_weights
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.init.trunc_normal_(m.weight, std=0.02)
                torch.nn.init.zeros_(m.bias)
        torch.nn.init.trunc_normal_(model.vit.embeddings.position_embeddings, std=0.02)
        torch.nn.init.trunc_normal_(model.vit.embeddings.cls_token, std=0.02)
        nparams = sum(p.numel() for n, p in model.named_parameters()
                  if not n.startswith("classifier"))
        print("encoder parameters %d" % nparams, file=sys.stderr)
        t1 = time.time()
        eyc = torch.tensor([COARSE[int(t)] for t in ey], dtype=torch.int64)
        pretrain(model, x, yc, gen, ex, eyc)
        print("pretrain %.1f s" % (time.time() - t1), file=sys.stderr)

        run_dir = os.path.join(a.out, "run")
        if os.path.isdir(run_dir):
            shutil.rmtree(run_dir)
        os.makedirs(run_dir)
        t1 = time.time()
        finetune(model, x, y, ex, ey, gen, run_dir, a.out.rstrip("/") + "/run")
        print("finetune %.1f s" % (time.time() - t1), file=sys.stderr)
    rows = verify(a.out, a.fixtures)
    print("%-18s %6s %7s %9s %8s" % ("checkpoint", "step", "epoch", "eval_loss", "accuracy"))
    for r in rows:
        print("%-18s %6d %7.3f %9.4f %8.4f" % r)
    print("data/demo: %.2f MB (run %.2f MB, images %.2f MB); fixtures %.1f KB; %.1f s"
          % (du(a.out) / 1e6, du(os.path.join(a.out, "run")) / 1e6,
         du(os.path.join(a.out, "images")) / 1e6, du(a.fixtures) / 1e3, time.time() - t0))


if __name__ == "__main__":
    main()
