#!/usr/bin/python3
"""make_fixtures_hybrid.py - fixtures for tests/test_hybrid.c: the hybrid
ResNet + ViT models and the training folders of jeonsworld/ViT-pytorch and
of the flower tutorial (WZMIAOMIAO/deep-learning-for-image-processing,
pytorch_classification/vision_transformer).

Run from the repository root with timm's source on the path:
    PYTHONPATH=/opt/timm-src /usr/bin/python3 scripts/make_fixtures_hybrid.py
Writes tests/fixtures/hybrid/.  Deterministic (fixed seeds); random weights.

1. timm hybrids: built with timm's own classes (timm.models.resnetv2.ResNetV2
   with preact=False, stem_type 'same', StdConv2dSame eps 1e-8, exactly as
   vision_transformer_hybrid._resnetv2() builds them, fed to
   timm.layers.HybridEmbed inside timm's VisionTransformer).  Small test
   architectures (register them in the test with embed_registry_add(); the
   values must match TIMM_ARCHS below):
     vit_test_r_stem_p4_48   stem only (64 channels, as the r_s16_p8 models),
                             projection kernel 4, image 48 -> 3x3 tokens
     vit_test_r2_s1_60       stages (1, 1) of 128 / 256 channels, stem 32,
                             projection 1x1, image 60 (asymmetric SAME
                             padding in the stem, odd 15x15 map in stage 2)
   Files: timm_stem.safetensors, timm_r2.safetensors, timm_r2_f16.safetensors,
   timm_run/checkpoint-{1,2}.pth.tar + args.yaml (model: vit_test_r_stem_p4_48),
   ref/timm_<name>_{cls,head,logits}.npy on pixels_48.npy / pixels_60.npy.

2. jeonsworld/ViT-pytorch: its models/modeling.py and modeling_resnet.py
   re-implemented below with the same module names and arithmetic
   (StdConv2d eps 1e-5 with explicit padding, GroupNorm(32) eps 1e-6,
   gn_proj = GroupNorm(cout, cout), unpadded MaxPool2d(3, 2), LayerNorm eps
   1e-6, separate query/key/value/out Linears, exact GELU, head on the CLS
   token after encoder_norm).  Test configs (the test registers them):
     jw_test_r_tiny   hybrid: grid (4, 4), resnet num_layers (1, 1, 1),
                      width_factor 0.5, hidden 24, mlp_dim 48, 3 heads,
                      2 layers; --image-size 64 -> patch 64 // 16 // 4 = 1
     jw_test_vit_tiny plain: patch 8, hidden 24, mlp_dim 48, 3 heads, 2 layers,
                      --image-size 32
   Files as train.py's save_model() writes them:
     jw_out/hyb_checkpoint.bin (float16: apex O2 keeps fp16 weights; the
     reference uses the same rounded values), jw_out/vit_checkpoint.bin
     (float32), ref/jw_{hyb,vit}_{cls,logits}.npy on pixels_64 / pixels_32.

3. The flower tutorial's vit_model.py re-implemented (timm-style names,
   LayerNorm eps 1e-6, qkv bias, representation layer pre_logits = Linear +
   Tanh when representation_size is set).  Test architecture (the test
   registers it): vit_test_flower_patch32_224 (width 12, depth 1, 2 heads,
   patch 32, image 224, representation 12), used as
   --arch vit_test_flower_patch32_224_in21k.  Files:
     flower/weights/model-{0,1}.pth  train.py's torch.save(model.state_dict())
     flower/class_indices.json       {"0": "daisy", ...} as its utils.py writes
     images/<class>/<n>.png          a tiny image folder (3 classes x 2)
     ref/flower_e{0,1}_{cls,head,logits}.npy  predict.py's transform
        (Resize(256), CenterCrop(224), ToTensor, Normalize(0.5, 0.5)) of the
        images in ImageFolder order, then the model
     ref/jw_hyb_img_{cls,logits}.npy  jeonsworld's test transform
        (Resize((64, 64)), ToTensor, Normalize(0.5, 0.5)) of the same images
"""
import collections
import json
import math
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402  (safetensors writer)

from timm.layers import HybridEmbed, StdConv2dSame  # noqa: E402
from timm.models.resnetv2 import ResNetV2  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402
from timm.models.vision_transformer_hybrid import _resnetv2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures", "hybrid"))
NUM_CLASSES = 5


def path(*p):
    return os.path.join(OUT, *p)


def randomize(m, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * 0.4 + 0.02)
    return m.eval()


def plain(sd):
    return collections.OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())


def save(name, outs):
    os.makedirs(path("ref"), exist_ok=True)
    for k, v in outs.items():
        np.save(path("ref", "%s_%s.npy" % (name, k)), v.detach().numpy().astype(np.float32))


# ------------------------------------------------------------------ 1. timm

TIMM_ARCHS = {
    "vit_test_r_stem_p4_48": dict(layers=(), img=48, patch=4),
    "vit_test_r2_s1_60": dict(layers=(1, 1), channels=(128, 256), stem_chs=32, img=60, patch=1),
}


def timm_hybrid(name, seed):
    a = TIMM_ARCHS[name]
    if a["layers"]:
        # _resnetv2() with padding_same, at a smaller width
        bb = ResNetV2(layers=a["layers"], channels=a["channels"], stem_chs=a["stem_chs"],
                      num_classes=0, global_pool="", in_chans=3, preact=False,
                      stem_type="same", conv_layer=partial(StdConv2dSame, eps=1e-8))
    else:
        bb = _resnetv2(layers=())
    m = VisionTransformer(img_size=a["img"], patch_size=a["patch"], embed_dim=24, depth=2,
                          num_heads=3, mlp_ratio=2.0, num_classes=NUM_CLASSES,
                          embed_layer=partial(HybridEmbed, backbone=bb))
    return randomize(m, seed)


def timm_outputs(m, pixels):
    with torch.no_grad():
        f = m.forward_features(pixels)
        return dict(cls=f[:, 0], head=m.forward_head(f, pre_logits=True),
                    logits=m.forward_head(f))


def make_timm():
    torch.manual_seed(1)
    p48 = torch.randn(2, 3, 48, 48)
    p60 = torch.randn(2, 3, 60, 60)
    np.save(path("pixels_48.npy"), p48.numpy())
    np.save(path("pixels_60.npy"), p60.numpy())

    stem = timm_hybrid("vit_test_r_stem_p4_48", 11)
    assert tuple(stem.patch_embed.grid_size) == (3, 3)
    vitref.save_safetensors(plain(stem.state_dict()), path("timm_stem.safetensors"))
    save("timm_stem", timm_outputs(stem, p48))

    r2 = timm_hybrid("vit_test_r2_s1_60", 12)
    assert tuple(r2.patch_embed.grid_size) == (8, 8)
    sd = plain(r2.state_dict())
    vitref.save_safetensors(sd, path("timm_r2.safetensors"))
    save("timm_r2", timm_outputs(r2, p60))
    half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    vitref.save_safetensors(half, path("timm_r2_f16.safetensors"))
    r2.load_state_dict(collections.OrderedDict((k, v.float()) for k, v in half.items()))
    save("timm_r2_f16", timm_outputs(r2, p60))

    # a timm train.py output folder of the stem-only model
    os.makedirs(path("timm_run"), exist_ok=True)
    arch = "vit_test_r_stem_p4_48"
    for e in (1, 2):
        m = timm_hybrid(arch, 20 + e)
        torch.save({"epoch": e, "arch": arch, "state_dict": m.state_dict(), "version": 2,
                    "metric": 40.0 + e}, path("timm_run", "checkpoint-%d.pth.tar" % e))
        save("timm_run%d" % e, timm_outputs(m, p48))
    with open(path("timm_run", "args.yaml"), "w") as f:
        f.write(yaml.safe_dump({"model": arch, "num_classes": NUM_CLASSES, "epochs": 2,
                                "batch_size": 8}, default_flow_style=False))
    with open(path("timm_run", "summary.csv"), "w") as f:
        f.write("epoch,train_loss,eval_loss,eval_top1\n0,1.9,1.8,30.0\n1,1.5,1.6,40.0\n"
                "2,1.2,1.4,45.0\n")


# ------------------------------------------------------------------ 2. jeonsworld

class JwStdConv2d(nn.Conv2d):
    """modeling_resnet.StdConv2d: var_mean over (1, 2, 3), unbiased=False, eps 1e-5."""

    def forward(self, x):
        w = self.weight
        v, m = torch.var_mean(w, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (w - m) / torch.sqrt(v + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class JwUnit(nn.Module):
    """modeling_resnet.PreActBottleneck (post-activation arithmetic, as written there)."""

    def __init__(self, cin, cout, cmid, stride=1):
        super().__init__()
        self.gn1 = nn.GroupNorm(32, cmid, eps=1e-6)
        self.conv1 = JwStdConv2d(cin, cmid, kernel_size=1, stride=1, padding=0, bias=False)
        self.gn2 = nn.GroupNorm(32, cmid, eps=1e-6)
        self.conv2 = JwStdConv2d(cmid, cmid, kernel_size=3, stride=stride, padding=1, bias=False)
        self.gn3 = nn.GroupNorm(32, cout, eps=1e-6)
        self.conv3 = JwStdConv2d(cmid, cout, kernel_size=1, stride=1, padding=0, bias=False)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or cin != cout:
            self.downsample = JwStdConv2d(cin, cout, kernel_size=1, stride=stride, padding=0,
                                          bias=False)
            self.gn_proj = nn.GroupNorm(cout, cout)

    def forward(self, x):
        residual = x
        if hasattr(self, "downsample"):
            residual = self.gn_proj(self.downsample(x))
        y = self.relu(self.gn1(self.conv1(x)))
        y = self.relu(self.gn2(self.conv2(y)))
        y = self.gn3(self.conv3(y))
        return self.relu(residual + y)


class JwResNetV2(nn.Module):
    def __init__(self, block_units, width_factor):
        super().__init__()
        width = int(64 * width_factor)
        self.width = width
        self.root = nn.Sequential(collections.OrderedDict([
            ("conv", JwStdConv2d(3, width, kernel_size=7, stride=2, bias=False, padding=3)),
            ("gn", nn.GroupNorm(32, width, eps=1e-6)),
            ("relu", nn.ReLU(inplace=True)),
            ("pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=0)),
        ]))
        blocks = []
        cin = width
        for b, n in enumerate(block_units):
            cout, cmid = width * 4 * 2 ** b, width * 2 ** b
            units = [("unit1", JwUnit(cin, cout, cmid, stride=1 if b == 0 else 2))]
            units += [("unit%d" % i, JwUnit(cout, cout, cmid)) for i in range(2, n + 1)]
            blocks.append(("block%d" % (b + 1), nn.Sequential(collections.OrderedDict(units))))
            cin = cout
        self.body = nn.Sequential(collections.OrderedDict(blocks))

    def forward(self, x):
        return self.body(self.root(x))


class JwAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c["num_heads"]
        self.attention_head_size = c["hidden"] // c["num_heads"]
        self.query = nn.Linear(c["hidden"], c["hidden"])
        self.key = nn.Linear(c["hidden"], c["hidden"])
        self.value = nn.Linear(c["hidden"], c["hidden"])
        self.out = nn.Linear(c["hidden"], c["hidden"])

    def t(self, x):
        return x.view(*x.size()[:-1], self.num_attention_heads,
                      self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, h):
        q, k, v = self.t(self.query(h)), self.t(self.key(h)), self.t(self.value(h))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        p = torch.softmax(s, dim=-1)
        ctx = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()
        return self.out(ctx.view(*ctx.size()[:-2], -1))


class JwMlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["hidden"], c["mlp_dim"])
        self.fc2 = nn.Linear(c["mlp_dim"], c["hidden"])

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class JwBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention_norm = nn.LayerNorm(c["hidden"], eps=1e-6)
        self.ffn_norm = nn.LayerNorm(c["hidden"], eps=1e-6)
        self.ffn = JwMlp(c)
        self.attn = JwAttention(c)

    def forward(self, x):
        x = x + self.attn(self.attention_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class JwEmbeddings(nn.Module):
    def __init__(self, c, img_size):
        super().__init__()
        self.hybrid = "grid" in c
        if self.hybrid:
            g = c["grid"]
            patch = img_size // 16 // g
            n_patches = (img_size // 16) ** 2
            self.hybrid_model = JwResNetV2(c["num_layers"], c["width_factor"])
            in_ch = self.hybrid_model.width * 16
        else:
            patch = c["patch"]
            n_patches = (img_size // patch) ** 2
            in_ch = 3
        self.patch_embeddings = nn.Conv2d(in_ch, c["hidden"], kernel_size=patch, stride=patch)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n_patches + 1, c["hidden"]))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c["hidden"]))

    def forward(self, x):
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        if self.hybrid:
            x = self.hybrid_model(x)
        x = self.patch_embeddings(x).flatten(2).transpose(-1, -2)
        return torch.cat((cls, x), dim=1) + self.position_embeddings


class JwEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([JwBlock(c) for _ in range(c["num_layers_t"])])
        self.encoder_norm = nn.LayerNorm(c["hidden"], eps=1e-6)

    def forward(self, h):
        for b in self.layer:
            h = b(h)
        return self.encoder_norm(h)


class JwTransformer(nn.Module):
    def __init__(self, c, img_size):
        super().__init__()
        self.embeddings = JwEmbeddings(c, img_size)
        self.encoder = JwEncoder(c)

    def forward(self, x):
        return self.encoder(self.embeddings(x))


class JwViT(nn.Module):
    def __init__(self, c, img_size, num_classes):
        super().__init__()
        self.transformer = JwTransformer(c, img_size)
        self.head = nn.Linear(c["hidden"], num_classes)

    def outputs(self, x):
        with torch.no_grad():
            h = self.transformer(x)
            return dict(cls=h[:, 0], logits=self.head(h[:, 0]))


JW_CONFIGS = {
    "jw_test_r_tiny": dict(grid=4, num_layers=(1, 1, 1), width_factor=0.5, hidden=24,
                           mlp_dim=48, num_heads=3, num_layers_t=2),
    "jw_test_vit_tiny": dict(patch=8, hidden=24, mlp_dim=48, num_heads=3, num_layers_t=2),
}


def make_jw(images):
    torch.manual_seed(2)
    p64 = torch.randn(2, 3, 64, 64)
    p32 = torch.randn(2, 3, 32, 32)
    np.save(path("pixels_64.npy"), p64.numpy())
    np.save(path("pixels_32.npy"), p32.numpy())
    os.makedirs(path("jw_out"), exist_ok=True)

    hyb = randomize(JwViT(JW_CONFIGS["jw_test_r_tiny"], 64, NUM_CLASSES), 31)
    half = collections.OrderedDict((k, v.half()) for k, v in plain(hyb.state_dict()).items())
    torch.save(half, path("jw_out", "hyb_checkpoint.bin"))
    hyb.load_state_dict(collections.OrderedDict((k, v.float()) for k, v in half.items()))
    save("jw_hyb", hyb.outputs(p64))
    tf = transforms.Compose([transforms.Resize((64, 64)), transforms.ToTensor(),
                             transforms.Normalize(mean=[0.5] * 3, std=[0.5] * 3)])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in images])
    save("jw_hyb_img", hyb.outputs(x))

    vit = randomize(JwViT(JW_CONFIGS["jw_test_vit_tiny"], 32, 3), 32)
    torch.save(vit.state_dict(), path("jw_out", "vit_checkpoint.bin"))
    save("jw_vit", vit.outputs(p32))


# ------------------------------------------------------------------ 3. flower

class FlAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class FlMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class FlBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = FlAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FlMlp(dim, dim * 4)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class FlPatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class FlViT(nn.Module):
    """vit_model.VisionTransformer, distilled=False."""

    def __init__(self, img, patch, dim, depth, heads, representation_size, num_classes):
        super().__init__()
        self.patch_embed = FlPatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[FlBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        if representation_size:
            self.pre_logits = nn.Sequential(collections.OrderedDict([
                ("fc", nn.Linear(dim, representation_size)), ("act", nn.Tanh())]))
        else:
            self.pre_logits = nn.Identity()
        self.head = nn.Linear(representation_size or dim, num_classes)

    def outputs(self, x):
        with torch.no_grad():
            x = self.patch_embed(x)
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
            x = self.norm(self.blocks(x + self.pos_embed))
            rep = self.pre_logits(x[:, 0])
            return dict(cls=x[:, 0], head=rep, logits=self.head(rep))


FLOWER_CLASSES = ["daisy", "roses", "tulips"]


def make_images():
    """images/<class>/<n>.png: 3 classes x 2 small RGB images, ImageFolder order."""
    rng = np.random.RandomState(9)
    files = []
    for ci, c in enumerate(FLOWER_CLASSES):
        os.makedirs(path("images", c), exist_ok=True)
        for n in range(2):
            h, w = 30 + 7 * n + ci, 41 - 5 * n + 2 * ci
            yy, xx = np.mgrid[0:h, 0:w]
            img = np.stack([(xx * (5 + ci) + yy * 3) % 256, (yy * (7 + n)) % 256,
                            (xx * yy + 40 * ci) % 256], -1)
            img = np.clip(img + rng.randint(-25, 26, img.shape), 0, 255).astype(np.uint8)
            p = path("images", c, "%d.png" % n)
            Image.fromarray(img).save(p)
            files.append(p)
    return files


def make_flower(images):
    os.makedirs(path("flower", "weights"), exist_ok=True)
    with open(path("flower", "class_indices.json"), "w") as f:
        json.dump(dict((str(i), c) for i, c in enumerate(FLOWER_CLASSES)), f, indent=4)
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                             transforms.ToTensor(),
                             transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])])
    x = torch.stack([tf(Image.open(p)) for p in images])
    for e in (0, 1):
        m = randomize(FlViT(224, 32, 12, 1, 2, 12, len(FLOWER_CLASSES)), 40 + e)
        torch.save(m.state_dict(), path("flower", "weights", "model-%d.pth" % e))
        save("flower_e%d" % e, m.outputs(x))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    make_timm()
    images = make_images()
    make_jw(images)
    make_flower(images)


if __name__ == "__main__":
    main()
