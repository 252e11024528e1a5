#!/usr/bin/python3
"""make_fixtures_swin.py - fixtures for tests/test_swin.c (Swin Transformer).

Run with Debian's Python (torch 1.13) and timm's real source:
    PYTHONPATH=/opt/timm-src /usr/bin/python3 scripts/make_fixtures_swin.py
Writes tests/fixtures/swin/.  Deterministic (fixed seeds).

The reference is timm's own SwinTransformer (timm/models/swin_transformer.py,
timm >= 1.0 names: fused attn.qkv, downsample at the start of the next stage,
head.fc), built with small shapes and random weights.  Two test
architectures (the test registers them with embed_registry_add(); the values
must match ARCHS below):
  swin_test_a   embed_dim 16, depths (2, 2, 2), heads (2, 2, 4), window 4,
                patch 4, image 64, mlp_ratio 2: maps 16, 8, 4 (no padding;
                the last stage is one unshifted window)
  swin_test_pad the same at window 3, image 40: maps 10, 5, 3 -> padded
                to 12 and 6 in the shifted stages, PatchMerging pads 5 -> 6;
                timm sizes stage 2 by floor division (5 // 2 = 2: window 2,
                unshifted, the 3x3 map padded to 4x4), transformers by the
                map itself (3: window 3)

Layouts written from the same weights:
  timm       the state dict as timm saves it
  Microsoft  timm's checkpoint_filter_fn inverted: layers.<i+1>.downsample
             -> layers.<i>.downsample, head.fc -> head, plus the buffers the
             original code keeps (relative_position_index, attn_mask of the
             shifted blocks), under a 'model' key
  HF         the Microsoft names through transformers' conversion mapping
             (convert_swin_timm_to_pytorch.py: rename_key and the qkv split,
             "mask" keys dropped), with config.json / preprocessor_config.json
transformers pads the feature map before the cyclic shift, timm after it:
the HF reference is hf_forward() below, a re-implementation of
transformers' SwinModel arithmetic (modeling_swin.py: SwinLayer.maybe_pad,
roll, get_attn_mask on the padded size, window_partition,
SwinSelfAttention with scores / sqrt(head_dim) + bias + mask, SwinPatchMerging
maybe_pad, the pooler's mean).  Without padding it must equal timm's output
(checked here, max abs diff printed); with padding it is the HF reference.

Files:
  pixels_a.npy / pixels_pad.npy     3 x 3 x H x W float32 inputs
  a_timm.safetensors, a_timm_f16.safetensors, pad_timm.safetensors
  a_ms.pth (torch.save {'model': ...}), a_timm.pth.tar (timm train.py-like,
        'arch': swin_test_a)
  a_ms_ape.pth, ref/a_ape_{emb,logits}.npy   the Microsoft layout with an
        absolute_pos_embed [1, L, C] (its APE option), reference: timm's
        patch_embed + ape, then its stages, norm and head
  hf_a/, hf_a_f16/, hf_pad/         HF checkpoint folders (safetensors)
  hf_a_base/                        a SwinModel folder (no classifier, no
        "swin." prefix, the default two LABEL_i of its config)
  bad_nostage.safetensors           swin_test_a without stage 2 (timm names)
  ref/<a|pad>_{timm,hf}_{emb,logits}.npy   pooled embedding (timm
        forward_head(pre_logits=True) / HF pooler_output) and logits
  ref/a_f16_{emb,logits}.npy        timm on the float16-rounded weights
  run/checkpoint-{1,2}/             a small HF Trainer run (weights W_1, W_2)
        with trainer_state.json, for the end-to-end test
"""
import collections
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402  (safetensors writer, HF json helpers)

try:
    from timm.models.swin_transformer import SwinTransformer
except ImportError as e:  # pragma: no cover
    sys.exit("timm not importable (PYTHONPATH=/opt/timm-src): %s" % e)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures", "swin"))

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LABELS = ["airplane", "bird", "cat", "deer", "frog"]

ARCHS = {
    "swin_test_a": dict(embed_dim=16, depths=(2, 2, 2), num_heads=(2, 2, 4), window_size=4,
                        patch_size=4, img_size=64, mlp_ratio=2.0),
    "swin_test_pad": dict(embed_dim=16, depths=(2, 2, 2), num_heads=(2, 2, 4), window_size=3,
                          patch_size=4, img_size=40, mlp_ratio=2.0),
}


def path(*p):
    return os.path.join(OUT, *p)


def make_timm(arch, seed):
    torch.manual_seed(seed)
    m = SwinTransformer(num_classes=len(LABELS), **ARCHS[arch]).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "relative_position_bias_table" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)
    return m


def timm_ref(m, x):
    with torch.no_grad():
        feats = m.forward_features(x)
        return m.forward_head(feats, pre_logits=True), m.forward_head(feats)


def timm_sd(m):
    return collections.OrderedDict((k, v.detach().clone()) for k, v in m.state_dict().items())


def to_ms(m, sd):
    """timm >= 1.0 names -> the original Microsoft code's (with its buffers)."""
    import re
    out = collections.OrderedDict()
    for k, v in sd.items():
        k2 = re.sub(r"layers\.(\d+)\.downsample",
                    lambda g: "layers.%d.downsample" % (int(g.group(1)) - 1), k)
        k2 = k2.replace("head.fc.", "head.")
        out[k2] = v
    for i, stage in enumerate(m.layers):
        for j, blk in enumerate(stage.blocks):
            pre = "layers.%d.blocks.%d." % (i, j)
            out[pre + "attn.relative_position_index"] = blk.attn.relative_position_index.clone()
            if blk.attn_mask is not None:
                out[pre + "attn_mask"] = blk.attn_mask.clone()
    return out


def hf_rename(name):
    """transformers' convert_swin_timm_to_pytorch.rename_key, re-stated."""
    if "patch_embed.proj" in name:
        name = name.replace("patch_embed.proj", "embeddings.patch_embeddings.projection")
    if "patch_embed.norm" in name:
        name = name.replace("patch_embed.norm", "embeddings.norm")
    if "layers" in name:
        name = "encoder." + name
    if "attn.proj" in name:
        name = name.replace("attn.proj", "attention.output.dense")
    if "attn" in name:
        name = name.replace("attn", "attention.self")
    if "norm1" in name:
        name = name.replace("norm1", "layernorm_before")
    if "norm2" in name:
        name = name.replace("norm2", "layernorm_after")
    if "mlp.fc1" in name:
        name = name.replace("mlp.fc1", "intermediate.dense")
    if "mlp.fc2" in name:
        name = name.replace("mlp.fc2", "output.dense")
    if name == "norm.weight":
        name = "layernorm.weight"
    if name == "norm.bias":
        name = "layernorm.bias"
    if "head" in name:
        name = name.replace("head", "classifier")
    else:
        name = "swin." + name
    return name


def to_hf(ms, cfg, g):
    """transformers' convert_state_dict on Microsoft names.  A stage whose
    map timm sizes by floor division (an odd map before PatchMerging, which
    pads it: timm's window then shrinks to the floor size) has a smaller
    relative position table than transformers builds for the config's
    window: such tables get fresh random values of transformers' shape."""
    out = collections.OrderedDict()
    w = cfg["window_size"]
    for key, val in ms.items():
        if "mask" in key:
            continue
        if key.endswith("relative_position_bias_table") and val.shape[0] != (2 * w - 1) ** 2:
            val = 0.5 * torch.randn(((2 * w - 1) ** 2, val.shape[1]), generator=g)
        if key.endswith("relative_position_index") and val.shape[0] != w * w:
            val = rel_index(w)
        if "qkv" in key:
            s = key.split(".")
            i, j = int(s[1]), int(s[3])
            dim = cfg["embed_dim"] * 2 ** i
            pre = "swin.encoder.layers.%d.blocks.%d.attention.self." % (i, j)
            kind = "weight" if "weight" in key else "bias"
            out[pre + "query." + kind] = val[:dim].clone()
            out[pre + "key." + kind] = val[dim:2 * dim].clone()
            out[pre + "value." + kind] = val[-dim:].clone()
        else:
            out[hf_rename(key)] = val
    return out


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(win, ws, h, w):
    c = win.shape[-1]
    x = win.view(-1, h // ws, w // ws, ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, h, w, c)


def rel_index(ws):
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
    cf = torch.flatten(coords, 1)
    rel = (cf[:, :, None] - cf[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def hf_mask(hp, wp, ws, shift):
    img = torch.zeros((1, hp, wp, 1))
    cnt = 0
    sl = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    for hs in sl:
        for wsl in sl:
            img[:, hs, wsl, :] = cnt
            cnt += 1
    mw = window_partition(img, ws).view(-1, ws * ws)
    am = mw.unsqueeze(1) - mw.unsqueeze(2)
    return am.masked_fill(am != 0, -100.0).masked_fill(am == 0, 0.0)


def hf_forward(sd, cfg, x):
    """transformers' SwinModel + classifier arithmetic on HF names."""
    P, eps = "swin.", 1e-5
    C, window, p = cfg["embed_dim"], cfg["window_size"], cfg["patch_size"]
    with torch.no_grad():
        x = F.conv2d(x, sd[P + "embeddings.patch_embeddings.projection.weight"],
                     sd[P + "embeddings.patch_embeddings.projection.bias"], stride=p)
        B, _, H, W = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = F.layer_norm(x, (C,), sd[P + "embeddings.norm.weight"], sd[P + "embeddings.norm.bias"], eps)
        n_st = len(cfg["depths"])
        for i, depth in enumerate(cfg["depths"]):
            dim, heads = C * 2 ** i, cfg["num_heads"][i]
            hd = dim // heads
            for j in range(depth):
                pre = P + "encoder.layers.%d.blocks.%d." % (i, j)
                ws, shift = window, (0 if j % 2 == 0 else window // 2)
                if min(H, W) <= ws:
                    shift, ws = 0, min(H, W)
                short = x
                h = F.layer_norm(x, (dim,), sd[pre + "layernorm_before.weight"],
                                 sd[pre + "layernorm_before.bias"], eps).view(B, H, W, dim)
                pr, pb = (ws - W % ws) % ws, (ws - H % ws) % ws
                h = F.pad(h, (0, 0, 0, pr, 0, pb))
                hp, wp = h.shape[1], h.shape[2]
                if shift:
                    h = torch.roll(h, shifts=(-shift, -shift), dims=(1, 2))
                win = window_partition(h, ws).view(-1, ws * ws, dim)
                a = pre + "attention.self."
                q = F.linear(win, sd[a + "query.weight"], sd[a + "query.bias"])
                k = F.linear(win, sd[a + "key.weight"], sd[a + "key.bias"])
                v = F.linear(win, sd[a + "value.weight"], sd[a + "value.bias"])
                nb, n, _ = q.shape
                q, k, v = [t.view(nb, n, heads, hd).permute(0, 2, 1, 3) for t in (q, k, v)]
                sc = torch.matmul(q, k.transpose(-1, -2)) / (hd ** 0.5)
                tbl = sd[a + "relative_position_bias_table"]
                bias = tbl[rel_index(window).view(-1)].view(window * window, window * window, -1)
                sc = sc + bias.permute(2, 0, 1).unsqueeze(0)
                if shift:
                    mask = hf_mask(hp, wp, ws, shift)
                    nw = mask.shape[0]
                    sc = sc.view(nb // nw, nw, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
                    sc = sc.view(-1, heads, n, n)
                ctx = torch.matmul(sc.softmax(-1), v).permute(0, 2, 1, 3).reshape(nb, n, dim)
                out = F.linear(ctx, sd[pre + "attention.output.dense.weight"],
                               sd[pre + "attention.output.dense.bias"])
                out = window_reverse(out.view(-1, ws, ws, dim), ws, hp, wp)
                if shift:
                    out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
                out = out[:, :H, :W, :].reshape(B, H * W, dim)
                x = short + out
                y = F.layer_norm(x, (dim,), sd[pre + "layernorm_after.weight"],
                                 sd[pre + "layernorm_after.bias"], eps)
                y = F.gelu(F.linear(y, sd[pre + "intermediate.dense.weight"],
                                    sd[pre + "intermediate.dense.bias"]))
                x = x + F.linear(y, sd[pre + "output.dense.weight"], sd[pre + "output.dense.bias"])
            if i < n_st - 1:
                d = P + "encoder.layers.%d.downsample." % i
                f = x.view(B, H, W, dim)
                if H % 2 or W % 2:
                    f = F.pad(f, (0, 0, 0, W % 2, 0, H % 2))
                f = torch.cat([f[:, 0::2, 0::2], f[:, 1::2, 0::2], f[:, 0::2, 1::2],
                               f[:, 1::2, 1::2]], -1).view(B, -1, 4 * dim)
                f = F.layer_norm(f, (4 * dim,), sd[d + "norm.weight"], sd[d + "norm.bias"], eps)
                x = F.linear(f, sd[d + "reduction.weight"])
                H, W = (H + 1) // 2, (W + 1) // 2
        dim = C * 2 ** (n_st - 1)
        x = F.layer_norm(x, (dim,), sd[P + "layernorm.weight"], sd[P + "layernorm.bias"], eps)
        pooled = x.mean(1)
        return pooled, F.linear(pooled, sd["classifier.weight"], sd["classifier.bias"])


def hf_config(cfg):
    return {
        "architectures": ["SwinForImageClassification"], "model_type": "swin",
        "attention_probs_dropout_prob": 0.0, "depths": list(cfg["depths"]), "drop_path_rate": 0.1,
        "embed_dim": cfg["embed_dim"], "encoder_stride": 32, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "hidden_size": cfg["embed_dim"] * 2 ** (len(cfg["depths"]) - 1),
        "id2label": {str(i): n for i, n in enumerate(LABELS)},
        "label2id": {n: i for i, n in enumerate(LABELS)},
        "image_size": cfg["img_size"], "initializer_range": 0.02, "layer_norm_eps": 1e-05,
        "mlp_ratio": cfg["mlp_ratio"], "num_channels": 3, "num_heads": list(cfg["num_heads"]),
        "num_layers": len(cfg["depths"]), "patch_size": cfg["patch_size"],
        "path_norm": True, "qkv_bias": True, "torch_dtype": "float32",
        "transformers_version": "4.46.0", "use_absolute_embeddings": False,
        "window_size": cfg["window_size"],
    }


def hf_preproc(size):
    # ViTImageProcessor as microsoft/swin-tiny-patch4-window7-224 has it
    return {"do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": list(IMAGENET_MEAN), "image_processor_type": "ViTImageProcessor",
            "image_std": list(IMAGENET_STD), "resample": 3, "rescale_factor": 1 / 255,
            "size": {"height": size, "width": size}}


def write_hf(folder, sd, cfg, dtype=torch.float32):
    os.makedirs(folder, exist_ok=True)
    vitref.save_safetensors({k: v.to(dtype) if v.is_floating_point() else v
                             for k, v in sd.items()}, os.path.join(folder, "model.safetensors"),
                            {"format": "pt"})
    vitref.write_json(os.path.join(folder, "config.json"), hf_config(cfg))
    vitref.write_json(os.path.join(folder, "preprocessor_config.json"), hf_preproc(cfg["img_size"]))


def save_npy(name, t):
    np.save(path("ref", name + ".npy"), t.detach().numpy().astype(np.float32))


def main():
    os.makedirs(path("ref"), exist_ok=True)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(7)
    for arch, tag, seed in (("swin_test_a", "a", 1), ("swin_test_pad", "pad", 2)):
        cfg = ARCHS[arch]
        m = make_timm(arch, seed)
        px = torch.randn(3, 3, cfg["img_size"], cfg["img_size"], generator=g)
        np.save(path("pixels_%s.npy" % tag), px.numpy().astype(np.float32))
        emb, logits = timm_ref(m, px)
        save_npy("%s_timm_emb" % tag, emb)
        save_npy("%s_timm_logits" % tag, logits)
        sd = timm_sd(m)
        vitref.save_safetensors(sd, path("%s_timm.safetensors" % tag))
        ms = to_ms(m, sd)
        hf = to_hf(ms, cfg, g)
        hemb, hlog = hf_forward(hf, cfg, px)
        d = (hemb - emb).abs().max().item()
        print("%s: HF re-implementation vs timm: max abs diff %.3g (%s)"
              % (arch, d, "padding: they differ" if tag == "pad" else "must agree"))
        if tag != "pad":
            assert d < 1e-5, d
        save_npy("%s_hf_emb" % tag, hemb)
        save_npy("%s_hf_logits" % tag, hlog)
        write_hf(path("hf_%s" % tag), hf, cfg)
        if tag == "a":
            torch.save({"model": ms}, path("a_ms.pth"))
            torch.save({"epoch": 2, "arch": arch, "state_dict": sd, "version": 2},
                       path("a_timm.pth.tar"))
            half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
            vitref.save_safetensors(half, path("a_timm_f16.safetensors"))
            m16 = make_timm(arch, seed)
            m16.load_state_dict(collections.OrderedDict((k, v.float()) for k, v in half.items()))
            e16, l16 = timm_ref(m16, px)
            save_npy("a_f16_emb", e16)
            save_npy("a_f16_logits", l16)
            write_hf(path("hf_a_f16"), hf, cfg, torch.float16)
            # SwinModel (no classifier, no "swin." prefix), as saved from
            # SwinModel.from_pretrained(...).save_pretrained(...)
            base = collections.OrderedDict((k[5:], v) for k, v in hf.items() if k.startswith("swin."))
            write_hf(path("hf_a_base"), base, cfg)
            c = hf_config(cfg)
            c["architectures"] = ["SwinModel"]
            c["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
            c["label2id"] = {"LABEL_0": 0, "LABEL_1": 1}
            vitref.write_json(path("hf_a_base", "config.json"), c)
            # the Microsoft code's optional absolute position embedding (ape):
            # added after the patch norm; timm >= 1.0 has none, so the
            # reference is timm's blocks on patch_embed(x) + ape
            ga = torch.Generator().manual_seed(11)
            L0 = (cfg["img_size"] // cfg["patch_size"]) ** 2
            ape = 0.5 * torch.randn((1, L0, cfg["embed_dim"]), generator=ga)
            msa = collections.OrderedDict(ms)
            msa["absolute_pos_embed"] = ape
            torch.save({"model": msa}, path("a_ms_ape.pth"))
            with torch.no_grad():
                x = m.patch_embed(px)
                x = x + ape.view(1, x.shape[1], x.shape[2], -1)
                x = m.norm(m.layers(x))
                save_npy("a_ape_emb", m.forward_head(x, pre_logits=True))
                save_npy("a_ape_logits", m.forward_head(x))
            nost = collections.OrderedDict((k, v) for k, v in sd.items()
                                           if not k.startswith("layers.2."))
            vitref.save_safetensors(nost, path("bad_nostage.safetensors"))
            # a small HF Trainer run: two checkpoints of slightly different weights
            for step in (1, 2):
                hs = collections.OrderedDict((k, v + 0.01 * step * torch.randn(v.shape, generator=g)
                                              if v.is_floating_point() else v)
                                             for k, v in hf.items())
                folder = path("run", "checkpoint-%d" % step)
                write_hf(folder, hs, cfg)
                vitref.write_json(os.path.join(folder, "trainer_state.json"), {
                    "global_step": step, "epoch": float(step), "log_history": [
                        {"step": s, "epoch": float(s), "loss": 2.0 - 0.5 * s,
                         "learning_rate": 1e-4} for s in range(1, step + 1)]})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
