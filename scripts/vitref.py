"""vitref.py - a PyTorch reference of Hugging Face's ViTModel /
ViTForImageClassification, and writers for the files a Trainer checkpoint
holds.  Debian ships no `transformers`, so fixtures and the demo are made with
this module.  Parameter names, shapes and arithmetic follow
transformers/models/vit/modeling_vit.py (pre-LN blocks, exact erf GELU,
LayerNorm eps from the config, CLS token after the final LayerNorm); the
state_dict of these modules loads into transformers' classes unchanged.

Used only to make fixtures and the demo: vitviz never needs Python.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


def hf_config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=128, image_size=32, patch_size=8,
              num_channels=3, layer_norm_eps=1e-12, qkv_bias=True,
              labels=None, architecture="ViTForImageClassification"):
    """A config.json dict as transformers' ViTConfig.to_dict() writes it."""
    cfg = {
        "_name_or_path": "vitviz-reference",
        "architectures": [architecture],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": patch_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": hidden_size,
        "image_size": image_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "layer_norm_eps": layer_norm_eps,
        "model_type": "vit",
        "num_attention_heads": num_attention_heads,
        "num_channels": num_channels,
        "num_hidden_layers": num_hidden_layers,
        "patch_size": patch_size,
        "qkv_bias": qkv_bias,
        "torch_dtype": "float32",
        "transformers_version": "4.46.3",
    }
    if labels is not None:
        cfg["id2label"] = {str(i): n for i, n in enumerate(labels)}
        cfg["label2id"] = {n: i for i, n in enumerate(labels)}
        cfg["problem_type"] = "single_label_classification"
    return cfg


def hf_preprocessor(size=32, legacy=False, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), resample=2):
    """preprocessor_config.json of ViTImageProcessor (or the legacy
    ViTFeatureExtractor form, which has no rescale keys)."""
    if legacy:
        return {"do_normalize": True, "do_resize": True,
                "feature_extractor_type": "ViTFeatureExtractor",
                "image_mean": list(mean), "image_std": list(std),
                "resample": resample, "size": size}
    return {"do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": list(mean), "image_processor_type": "ViTImageProcessor",
            "image_std": list(std), "resample": resample,
            "rescale_factor": 0.00392156862745098,
            "size": {"height": size, "width": size}}


class _SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.h = c["num_attention_heads"]
        self.query = nn.Linear(d, d, bias=c["qkv_bias"])
        self.key = nn.Linear(d, d, bias=c["qkv_bias"])
        self.value = nn.Linear(d, d, bias=c["qkv_bias"])

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.h

        def split(y):
            return y.view(b, t, self.h, hd).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        a = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        a = a.softmax(dim=-1)
        return torch.matmul(a, v).permute(0, 2, 1, 3).reshape(b, t, d)


class _SelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class _Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = _SelfAttention(c)
        self.output = _SelfOutput(c)

    def forward(self, x):
        return self.output.dense(self.attention(x))


class _Dense(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.dense = nn.Linear(i, o)


class _Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, m, eps = c["hidden_size"], c["intermediate_size"], c["layer_norm_eps"]
        self.attention = _Attention(c)
        self.intermediate = _Dense(d, m)
        self.output = _Dense(m, d)
        self.layernorm_before = nn.LayerNorm(d, eps=eps)
        self.layernorm_after = nn.LayerNorm(d, eps=eps)
        # "gelu" is the exact erf GELU; transformers' "gelu_new" and
        # "gelu_pytorch_tanh" are the tanh approximation
        self.approximate = "tanh" if c.get("hidden_act") in ("gelu_new", "gelu_pytorch_tanh") \
            else "none"

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        h = F.gelu(self.intermediate.dense(self.layernorm_after(x)), approximate=self.approximate)
        return x + self.output.dense(h)


class _Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([_Layer(c) for _ in range(c["num_hidden_layers"])])


class _PatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection = nn.Conv2d(c["num_channels"], c["hidden_size"],
                                    kernel_size=c["patch_size"], stride=c["patch_size"])


class _Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = (c["image_size"] // c["patch_size"]) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, c["hidden_size"]) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, c["hidden_size"]) * 0.02)
        self.patch_embeddings = _PatchEmbeddings(c)

    def forward(self, pixels):
        x = self.patch_embeddings.projection(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.position_embeddings


class _Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class ViTModel(nn.Module):
    """transformers.ViTModel: forward returns last_hidden_state [B, T, D]."""

    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        self.config = c
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)
        self.layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        if add_pooling_layer:
            self.pooler = _Pooler(c)

    def forward(self, pixels):
        x = self.embeddings(pixels)
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


class ViTForImageClassification(nn.Module):
    """transformers.ViTForImageClassification: logits from the CLS token."""

    def __init__(self, c, num_labels):
        super().__init__()
        self.vit = ViTModel(c, add_pooling_layer=False)
        self.classifier = nn.Linear(c["hidden_size"], num_labels)

    def forward(self, pixels):
        h = self.vit(pixels)
        return h, self.classifier(h[:, 0])


_ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}


def save_safetensors(tensors, path, metadata=None):
    """Write a dict name -> tensor in the safetensors format (as the
    `safetensors` package does: header padded with spaces to 8 bytes, data
    contiguous in header order)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def save_sharded(tensors, folder, nshards):
    """model-0000i-of-0000N.safetensors + model.safetensors.index.json."""
    names = list(tensors)
    per = (len(names) + nshards - 1) // nshards
    weight_map, total = {}, 0
    for i in range(nshards):
        part = {n: tensors[n] for n in names[i * per:(i + 1) * per]}
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, nshards)
        save_safetensors(part, os.path.join(folder, fn), {"format": "pt"})
        for n, t in part.items():
            weight_map[n] = fn
            total += t.numel() * t.element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def write_json(path, obj):
    """json.dumps as the Trainer writes (indent 2, sorted keys, NaN allowed)."""
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
