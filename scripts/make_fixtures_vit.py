#!/usr/bin/python3
"""Make tests/fixtures/vit: a small random ViT saved as Hugging Face
checkpoint folders (F32, F16, BF16, sharded F32, ViTModel keys) plus input
pixels and the PyTorch reference outputs (scripts/vitref.py) computed on the
SAME weights the files hold (F16/BF16 dequantised, run in float32).

Run with Debian's Python: /usr/bin/python3 scripts/make_fixtures_vit.py
"""
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "vit")
LABELS = ["airplane", "bird", "cat", "deer", "frog"]
SHAPE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=64, image_size=32, patch_size=8)


def randomize(model, gen):
    """Non-trivial values everywhere so that no layer is near identity."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm_before.weight") or name.endswith("layernorm_after.weight") \
                    or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "cls_token" in name or "position_embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def run(model, pixels):
    """(cls, mean, logits or None) of a ViTForImageClassification/ViTModel."""
    with torch.no_grad():
        if isinstance(model, vitref.ViTForImageClassification):
            h, logits = model(pixels)
        else:
            h, logits = model(pixels), None
    cls = h[:, 0].numpy().astype(np.float32)
    mean = h[:, 1:].mean(dim=1).numpy().astype(np.float32)
    return cls, mean, None if logits is None else logits.numpy().astype(np.float32)


def folder(name, cfg, legacy=False):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    vitref.write_json(os.path.join(d, "config.json"), cfg)
    vitref.write_json(os.path.join(d, "preprocessor_config.json"),
                      vitref.hf_preprocessor(size=cfg["image_size"], legacy=legacy))
    return d


def save_ref(name, outs):
    cls, mean, logits = outs
    np.save(os.path.join(OUT, "ref", name + "_cls.npy"), cls)
    np.save(os.path.join(OUT, "ref", name + "_mean.npy"), mean)
    if logits is not None:
        np.save(os.path.join(OUT, "ref", name + "_logits.npy"), logits)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1234)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "ref"))

    cfg = vitref.hf_config(labels=LABELS, **SHAPE)
    model = vitref.ViTForImageClassification(cfg, len(LABELS)).eval()
    randomize(model, gen)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    pixels = (torch.rand((3, 3, 32, 32), generator=gen) * 2 - 1).float()
    np.save(os.path.join(OUT, "pixels.npy"), pixels.numpy())

    # F32 single file
    d = folder("f32", cfg)
    vitref.save_safetensors(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
    save_ref("f32", run(model, pixels))

    # F16 / BF16: store converted weights, reference on the dequantised ones
    for name, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        c = dict(cfg, torch_dtype={"f16": "float16", "bf16": "bfloat16"}[name])
        d = folder(name, c)
        q = {k: v.to(dt) for k, v in sd.items()}
        vitref.save_safetensors(q, os.path.join(d, "model.safetensors"), {"format": "pt"})
        m = vitref.ViTForImageClassification(cfg, len(LABELS)).eval()
        m.load_state_dict({k: v.float() for k, v in q.items()})
        save_ref(name, run(m, pixels))

    # sharded F32, 3 shards
    d = folder("sharded", cfg)
    vitref.save_sharded(sd, d, 3)

    # ViTModel keys: no "vit." prefix, no classifier, with a pooler; legacy
    # preprocessor form; config with the default two labels, as ViTModel's has
    mcfg = vitref.hf_config(labels=["LABEL_0", "LABEL_1"], architecture="ViTModel", **SHAPE)
    vm = vitref.ViTModel(mcfg, add_pooling_layer=True).eval()
    msd = {k[len("vit."):]: v for k, v in sd.items() if k.startswith("vit.")}
    msd["pooler.dense.weight"] = 0.2 * torch.randn((32, 32), generator=gen)
    msd["pooler.dense.bias"] = 0.1 * torch.randn((32,), generator=gen)
    vm.load_state_dict(msd)
    d = folder("vitmodel", mcfg, legacy=True)
    vitref.save_safetensors(msd, os.path.join(d, "model.safetensors"))
    save_ref("vitmodel", run(vm, pixels))

    # other config paths: tanh GELU, no query/key/value biases, eps 1e-6,
    # stored as F16 (reference on the dequantised weights)
    vcfg = dict(vitref.hf_config(labels=LABELS, qkv_bias=False, layer_norm_eps=1e-6, **SHAPE),
                hidden_act="gelu_pytorch_tanh")
    v = vitref.ViTForImageClassification(vcfg, len(LABELS)).eval()
    randomize(v, gen)
    q = {k: t.detach().half() for k, t in v.state_dict().items()}
    assert not any(k.endswith("query.bias") for k in q)
    v.load_state_dict({k: t.float() for k, t in q.items()})
    d = folder("variant", vcfg)
    vitref.save_safetensors(q, os.path.join(d, "model.safetensors"))
    save_ref("variant", run(v, pixels))

    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %s (%d bytes)" % (os.path.normpath(OUT), total))


if __name__ == "__main__":
    main()
