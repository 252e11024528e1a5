#!/usr/bin/python3
"""PyTorch peer of bench/swin_bench.c: timm's own SwinTransformer on the same weights.

Needs timm's source: PYTHONPATH=/opt/timm-src (bench/swin.sh sets it).

  swin_bench.py gen DIR               write DIR/model.safetensors: random weights of
                                      timm's swin_tiny_patch4_window7_224 (1000
                                      classes), timm names, seed 0, norm weights and
                                      biases perturbed so that nothing is trivial
  swin_bench.py run DIR BATCH THREADS REPEATS [C_EMB]
                                      images/s with torch.set_num_threads(THREADS)
                                      under torch.inference_mode(): best of REPEATS
                                      forward_features + forward_head(pre_logits=True)
                                      passes of BATCH images after one warm-up.  With
                                      C_EMB (the raw float32 embeddings swin_bench.c
                                      wrote for the same deterministic batch) also
                                      the max |difference| of the embeddings.
Prints one line of key=value pairs.
"""
import os
import resource
import sys
import time

import numpy as np

ARCH, IMG = "swin_tiny_patch4_window7_224", 224


def model():
    from timm.models.swin_transformer import swin_tiny_patch4_window7_224
    return swin_tiny_patch4_window7_224(pretrained=False).eval()


def gen(d):
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from vitref import save_safetensors
    torch.manual_seed(0)
    m = model()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.02 * torch.randn_like(p))
    os.makedirs(d, exist_ok=True)
    save_safetensors({k: v for k, v in m.state_dict().items()}, os.path.join(d, "model.safetensors"))


def pixels(batch):
    """The deterministic batch swin_bench.c builds: sin of the flat index."""
    n = batch * 3 * IMG * IMG
    return np.sin(0.001 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(batch, 3, IMG, IMG)


def run(d, batch, threads, repeats, c_emb=None):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from vit_bench import load_safetensors

    torch.set_num_threads(threads)
    m = model()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sd = {k: torch.from_numpy(v.copy()) for k, v in load_safetensors(os.path.join(d, "model.safetensors")).items()}
    m.load_state_dict(sd)
    del sd
    px = torch.from_numpy(pixels(batch))
    best = 1e30
    with torch.inference_mode():
        emb = m.forward_head(m.forward_features(px), pre_logits=True)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            m.forward_head(m.forward_features(px), pre_logits=True)
            best = min(best, time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = "torch images_per_s=%.3f seconds=%.4f batch=%d threads=%d peak_rss_mib=%.0f baseline_rss_mib=%.0f" % (
        batch / best, best, batch, torch.get_num_threads(), rss, rss0)
    if c_emb:
        c = np.fromfile(c_emb, dtype=np.float32).reshape(batch, -1)
        out += " max_abs_diff=%.2e" % float(np.abs(c - emb.numpy()).max())
    print(out)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 3 and a[1] == "gen":
        gen(a[2])
    elif len(a) in (6, 7) and a[1] == "run":
        run(a[2], int(a[3]), int(a[4]), int(a[5]), a[6] if len(a) == 7 else None)
    else:
        sys.exit(__doc__)
