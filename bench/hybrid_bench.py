#!/usr/bin/python3
"""PyTorch peer of bench/hybrid_bench.c: timm's own vit_base_r50_s16_224
(R50+ViT-B/16: ResNetV2 backbone + HybridEmbed + VisionTransformer, from
timm's source) on the same weights.  Needs timm's source on PYTHONPATH
(bench/hybrid.sh passes /opt/timm-src or $TIMM_SRC).

  hybrid_bench.py gen FILE            write FILE (safetensors, timm's names):
                                      timm's own initialisation, seed 0
  hybrid_bench.py run FILE BATCH THREADS REPEATS [C_EMB]
                                      images/s with torch.set_num_threads(THREADS)
                                      under torch.inference_mode(): best of
                                      REPEATS passes of forward_features (CLS
                                      token after the final norm) after one
                                      warm-up; with C_EMB (the float32
                                      embeddings hybrid_bench.c wrote for the
                                      same deterministic batch) also the max
                                      |difference|.

Prints one line of key=value pairs.
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np

ARCH = "vit_base_r50_s16_224"
IMG = 224


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(data[s:e], dtype=np.float32).reshape(info["shape"])
    return out


def gen(path):
    import timm
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from vitref import save_safetensors
    torch.manual_seed(0)
    m = timm.create_model(ARCH, pretrained=False)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_safetensors({k: v.detach().float().contiguous() for k, v in m.state_dict().items()}, path)


def pixels(batch):
    """The deterministic batch hybrid_bench.c builds: sin of the flat index."""
    n = batch * 3 * IMG * IMG
    return np.sin(0.001 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(batch, 3, IMG, IMG)


def run(path, batch, threads, repeats, c_emb=None):
    import timm
    import torch

    torch.set_num_threads(threads)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = timm.create_model(ARCH, pretrained=False)
    m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in load_safetensors(path).items()})
    m.eval()
    px = torch.from_numpy(pixels(batch))
    best = 1e30
    with torch.inference_mode():
        emb = m.forward_features(px)[:, 0]  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            m.forward_features(px)
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
