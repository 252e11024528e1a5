#!/usr/bin/python3
"""PyTorch peer of bench/vit_bench.c: the same ViT on the same weights.

  vit_bench.py gen DIR MODEL          write DIR/config.json + DIR/model.safetensors
                                      (random weights, timm naming, seed 0);
                                      MODEL is vit_b16 or vit_ti16
  vit_bench.py run DIR BATCH THREADS REPEATS [C_EMB]
                                      images/s with torch.set_num_threads(THREADS)
                                      under torch.inference_mode(): best of
                                      REPEATS forward passes of BATCH images
                                      after one warm-up.  With C_EMB (the raw
                                      float32 embeddings vit_bench.c wrote for
                                      the same deterministic batch) also the
                                      max |difference| of the CLS embeddings.

The model is timm's VisionTransformer forward (pre-norm blocks, fused qkv,
q @ k^T * scale, softmax, @ v, exact-erf GELU, final LayerNorm, CLS token),
written out here because timm is not packaged in Debian 12.  Prints one line
of key=value pairs.
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np

MODELS = {
    # hidden, layers, heads, intermediate
    "vit_b16": (768, 12, 12, 3072),
    "vit_ti16": (192, 12, 3, 768),
}
IMG, PATCH, CH, EPS = 224, 16, 3, 1e-6


def save_safetensors(path, tensors):
    """float32 numpy arrays -> safetensors, with the fixture scripts' writer."""
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from vitref import save_safetensors as save
    save({k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in tensors.items()},
         path)


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


def gen(d, model):
    D, L, H, M = MODELS[model]
    T = (IMG // PATCH) ** 2 + 1
    rng = np.random.default_rng(0)
    w = {}

    def lin(name, n_out, n_in):
        w[name + ".weight"] = rng.standard_normal((n_out, n_in), dtype=np.float32) / math.sqrt(n_in)
        w[name + ".bias"] = 0.02 * rng.standard_normal(n_out, dtype=np.float32)

    def ln(name):
        w[name + ".weight"] = 1 + 0.1 * rng.standard_normal(D, dtype=np.float32)
        w[name + ".bias"] = 0.02 * rng.standard_normal(D, dtype=np.float32)

    w["cls_token"] = 0.02 * rng.standard_normal((1, 1, D), dtype=np.float32)
    w["pos_embed"] = 0.02 * rng.standard_normal((1, T, D), dtype=np.float32)
    w["patch_embed.proj.weight"] = rng.standard_normal((D, CH, PATCH, PATCH), dtype=np.float32) / math.sqrt(CH * PATCH * PATCH)
    w["patch_embed.proj.bias"] = 0.02 * rng.standard_normal(D, dtype=np.float32)
    for i in range(L):
        p = "blocks.%d." % i
        ln(p + "norm1")
        lin(p + "attn.qkv", 3 * D, D)
        lin(p + "attn.proj", D, D)
        ln(p + "norm2")
        lin(p + "mlp.fc1", M, D)
        lin(p + "mlp.fc2", D, M)
    ln("norm")
    os.makedirs(d, exist_ok=True)
    save_safetensors(os.path.join(d, "model.safetensors"), w)
    cfg = {"model_type": "vit", "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
           "intermediate_size": M, "image_size": IMG, "patch_size": PATCH, "num_channels": CH,
           "layer_norm_eps": EPS, "hidden_act": "gelu", "qkv_bias": True}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def pixels(batch):
    """The deterministic batch vit_bench.c builds: sin of the flat index."""
    n = batch * CH * IMG * IMG
    return np.sin(0.001 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(batch, CH, IMG, IMG)


def run(d, batch, threads, repeats, c_emb=None):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd = D // H
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    w = {k: torch.from_numpy(v.copy()) for k, v in load_safetensors(os.path.join(d, "model.safetensors")).items()}

    class Block(torch.nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            p = self.p
            B, T, _ = x.shape
            h = F.layer_norm(x, (D,), w[p + "norm1.weight"], w[p + "norm1.bias"], EPS)
            qkv = F.linear(h, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"])
            qkv = qkv.reshape(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            a = (q @ k.transpose(-2, -1)) * (hd ** -0.5)
            a = a.softmax(dim=-1)
            h = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = x + F.linear(h, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
            h = F.layer_norm(x, (D,), w[p + "norm2.weight"], w[p + "norm2.bias"], EPS)
            h = F.gelu(F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
            return x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])

    blocks = [Block("blocks.%d." % i) for i in range(L)]

    def forward(px):
        x = F.conv2d(px, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], stride=PATCH)
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([w["cls_token"].expand(x.shape[0], -1, -1), x], dim=1) + w["pos_embed"]
        for b in blocks:
            x = b(x)
        x = F.layer_norm(x, (D,), w["norm.weight"], w["norm.bias"], EPS)
        return x[:, 0]

    px = torch.from_numpy(pixels(batch))
    best = 1e30
    with torch.inference_mode():
        emb = forward(px)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            forward(px)
            best = min(best, time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = "torch images_per_s=%.3f seconds=%.4f batch=%d threads=%d peak_rss_mib=%.0f baseline_rss_mib=%.0f" % (
        batch / best, best, batch, torch.get_num_threads(), rss, rss0)
    if c_emb:
        c = np.fromfile(c_emb, dtype=np.float32).reshape(batch, D)
        out += " max_abs_diff=%.2e" % float(np.abs(c - emb.numpy()).max())
    print(out)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 4 and a[1] == "gen":
        gen(a[2], a[3])
    elif len(a) in (6, 7) and a[1] == "run":
        run(a[2], int(a[3]), int(a[4]), int(a[5]), a[6] if len(a) == 7 else None)
    else:
        sys.exit(__doc__)
