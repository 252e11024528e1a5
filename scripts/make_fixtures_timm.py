#!/usr/bin/python3
"""make_fixtures_timm.py - fixtures for tests/test_timm.c (timm checkpoints).

Run with Debian's Python (torch 1.13, PyYAML, Pillow):
    /usr/bin/python3 scripts/make_fixtures_timm.py
Writes tests/fixtures/timm/.  Deterministic (fixed seeds).

timm is not installed here, so TimmViT below re-implements timm's
VisionTransformer / VisionTransformerDistilled forward pass with timm's
parameter names, following timm/models/vision_transformer.py and deit.py:
PatchEmbed (Conv2d, flatten, transpose), cat(cls[, dist], patches) +
pos_embed, pre-LN Blocks (norm1 -> Attention with one fused qkv Linear
[3D, D] whose output is reshaped (B, N, 3, heads, head_dim), q * head_dim^-0.5,
softmax, proj -> ls1 -> residual; norm2 -> Mlp fc1 / exact GELU / fc2 -> ls2
-> residual), LayerNorm eps 1e-6, `norm` (Identity when fc_norm is used),
forward_head: pool ('token': x[:, 0]; 'avg': mean of x[:, prefix:]) ->
fc_norm -> head; distilled: pre_logits (x[:, 0] + x[:, 1]) / 2, logits
(head(x[:, 0]) + head_dist(x[:, 1])) / 2.

Test architectures (registered by the test with embed_registry_add(); the
values must match TEST_ARCHS below):
  vit_test_tiny_patch8_32             depth 2, width 24, heads 3, mlp 2, patch 8,
                                      img 32, token pool, bicubic, crop 0.9, 0.5/0.5
  deit_test_tiny_distilled_patch8_32  same shape, 2 prefix tokens, ImageNet mean/std
  vit_test_gap_patch8_32              same shape, avg pool + fc_norm (no norm)

Files:
  run/checkpoint-{1,2,10}.pth.tar, run/last.pth.tar, run/model_best.pth.tar
        timm train.py checkpoints {epoch, arch, state_dict, optimizer (epoch 1
        only, a real AdamW step), version, args (Namespace), metric,
        state_dict_ema (epoch 10)}; epoch e holds weights W_e
  run/args.yaml            yaml.safe_dump of a train.py-like Namespace
  run/summary.csv          epoch,train_loss,eval_loss,eval_top1,eval_top5,lr
  bare.bin / bare.safetensors        W_10 as a bare state dict (no 'arch')
  half.pth / half.safetensors        W_10 in float16
  module.pth.tar                     {'state_dict': {'module.<k>': W_10}, 'epoch': 10}
  ema.safetensors                    the EMA weights of checkpoint-10
  deit.pth.tar / deit.safetensors    distilled model
  ls.pth.tar                         LayerScale (ls1.gamma / ls2.gamma)
  gap.pth.tar                        avg pooling with fc_norm
  pixels.npy                         3 x 3 x 32 x 32 float32 inputs
  ref/<model>_{cls,head,mean,logits}.npy   PyTorch outputs on pixels.npy
        cls = norm(x)[:, 0]; head = forward_head(pre_logits=True);
        mean = mean of patch tokens after norm, then fc_norm; logits = forward
  img_45x37.png, img_45x37_vit_test.npy   a non-square image and timm's eval
        transform of it for vit_test_tiny_patch8_32 (Resize(35) bicubic,
        CenterCrop(32), ToTensor, Normalize), plus ref/img_vit_test_{head,logits}.npy
  base_333x250.png          timm's Resize(248, bicubic) + CenterCrop(224) of
        tests/fixtures/image/src_333x250.png (vit_base_patch16_224's eval
        transform before ToTensor / Normalize), uint8 RGB
"""
import argparse
import collections
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402  (safetensors writer)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures", "timm"))
IMG = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures", "image"))

INCEPTION = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

TEST_ARCHS = {
    "vit_test_tiny_patch8_32": dict(depth=2, width=24, heads=3, mlp_ratio=2.0, patch=8, img=32,
                                    prefix=1, pool="token", crop_pct=0.9,
                                    mean=INCEPTION, std=INCEPTION),
    "deit_test_tiny_distilled_patch8_32": dict(depth=2, width=24, heads=3, mlp_ratio=2.0,
                                               patch=8, img=32, prefix=2, pool="token",
                                               crop_pct=0.9, mean=IMAGENET_MEAN,
                                               std=IMAGENET_STD),
    "vit_test_gap_patch8_32": dict(depth=2, width=24, heads=3, mlp_ratio=2.0, patch=8, img=32,
                                   prefix=1, pool="avg", crop_pct=0.9,
                                   mean=INCEPTION, std=INCEPTION),
}
NUM_CLASSES = 5


def path(*p):
    return os.path.join(OUT, *p)


# ------------------------------------------------------------------ model

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class LayerScale(nn.Module):
    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, init_values):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimmViT(nn.Module):
    """timm VisionTransformer (and VisionTransformerDistilled with prefix 2)."""

    def __init__(self, a, num_classes=NUM_CLASSES, init_values=None):
        super().__init__()
        d = a["width"]
        self.prefix = a["prefix"]
        self.global_pool = a["pool"]
        use_fc_norm = self.global_pool == "avg"
        n = (a["img"] // a["patch"]) ** 2
        self.patch_embed = PatchEmbed(a["patch"], d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        if self.prefix == 2:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + self.prefix, d))
        self.blocks = nn.Sequential(*[Block(d, a["heads"], a["mlp_ratio"], init_values)
                                      for _ in range(a["depth"])])
        self.norm = nn.LayerNorm(d, eps=1e-6) if not use_fc_norm else nn.Identity()
        self.fc_norm = nn.LayerNorm(d, eps=1e-6) if use_fc_norm else nn.Identity()
        self.head = nn.Linear(d, num_classes)
        if self.prefix == 2:
            self.head_dist = nn.Linear(d, num_classes)

    def forward_features(self, x):
        x = self.patch_embed(x)
        toks = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.prefix == 2:
            toks.append(self.dist_token.expand(x.shape[0], -1, -1))
        x = torch.cat(toks + [x], dim=1) + self.pos_embed
        return self.norm(self.blocks(x))

    def forward_head(self, x, pre_logits=False):
        if self.prefix == 2:
            if pre_logits:
                return (x[:, 0] + x[:, 1]) / 2
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        x = x[:, self.prefix:].mean(dim=1) if self.global_pool == "avg" else x[:, 0]
        x = self.fc_norm(x)
        return x if pre_logits else self.head(x)

    def outputs(self, pixels):
        with torch.no_grad():
            f = self.forward_features(pixels)
            cls = f[:, 0]
            mean = self.fc_norm(f[:, self.prefix:].mean(dim=1))
            return dict(cls=cls, head=self.forward_head(f, True), mean=mean,
                        logits=self.forward_head(f))


def make_model(arch, seed, init_values=None):
    torch.manual_seed(seed)
    m = TimmViT(TEST_ARCHS[arch], init_values=init_values)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("gamma"):
                p.copy_(torch.rand_like(p) * 0.5 + 0.25)
            else:
                p.copy_(torch.randn_like(p) * 0.4 + 0.02)
    return m.eval()


def plain(sd):
    return collections.OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())


def save_refs(name, model, pixels):
    os.makedirs(path("ref"), exist_ok=True)
    for k, v in model.outputs(pixels).items():
        np.save(path("ref", "%s_%s.npy" % (name, k)), v.numpy().astype(np.float32))


def train_args(model):
    """A Namespace with the keys timm's train.py records (a subset)."""
    return argparse.Namespace(
        data_dir="/data/cifar10", dataset="", train_split="train", val_split="validation",
        model=model, pretrained=True, initial_checkpoint="", resume="", no_resume_opt=False,
        num_classes=NUM_CLASSES, gp=None, img_size=None, input_size=None, crop_pct=None,
        mean=None, std=None, interpolation="", batch_size=32, validation_batch_size=None,
        opt="adamw", opt_eps=None, opt_betas=None, momentum=0.9, weight_decay=0.05,
        clip_grad=None, sched="cosine", lr=5e-4, lr_noise=None, epochs=10, warmup_epochs=1,
        scale=[0.08, 1.0], ratio=[0.75, 1.3333333333333333], hflip=0.5, vflip=0.0,
        color_jitter=0.4, aa=None, smoothing=0.1, train_interpolation="random", drop=0.0,
        drop_path=0.1, model_ema=True, model_ema_decay=0.9998, seed=42, output="./output",
        experiment="cifar10-vit", eval_metric="top1", model_kwargs={}, log_wandb=False)


# ------------------------------------------------------------------ files

def main():
    os.makedirs(path("run"), exist_ok=True)
    arch = "vit_test_tiny_patch8_32"
    torch.manual_seed(7)
    pixels = torch.randn(3, 3, 32, 32)
    np.save(path("pixels.npy"), pixels.numpy())
    args = train_args(arch)

    # the run: weights W_e per saved epoch
    models = {e: make_model(arch, 100 + e) for e in (1, 2, 10)}
    opt = torch.optim.AdamW(models[1].parameters(), lr=1e-3)
    models[1].train()
    loss = models[1].forward_head(models[1].forward_features(pixels[:2])).square().mean()
    loss.backward()
    opt.step()
    models[1].eval()
    ema_model = make_model(arch, 999)
    for e, m in models.items():
        ck = {"epoch": e, "arch": arch, "state_dict": m.state_dict(), "version": 2,
              "args": args, "metric": 50.0 + e}
        if e == 1:
            ck["optimizer"] = opt.state_dict()
        if e == 10:
            ck["state_dict_ema"] = ema_model.state_dict()
        torch.save(ck, path("run", "checkpoint-%d.pth.tar" % e))
        save_refs("run%d" % e, m, pixels)
    # last / model_best: other weights, so using them by mistake shows
    for name, seed in (("last", 500), ("model_best", 501)):
        m = make_model(arch, seed)
        torch.save({"epoch": 11, "arch": arch, "state_dict": m.state_dict(), "version": 2,
                    "args": args, "metric": 61.0}, path("run", name + ".pth.tar"))
        save_refs(name, m, pixels)
    save_refs("ema", ema_model, pixels)
    vitref.save_safetensors(plain(ema_model.state_dict()), path("ema.safetensors"))
    with open(path("run", "args.yaml"), "w") as f:
        f.write(yaml.safe_dump(args.__dict__, default_flow_style=False))
    with open(path("run", "summary.csv"), "w") as f:
        f.write("epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n")
        for e in range(11):
            f.write("%d,%.6f,%.6f,%.4f,%.4f,%.8f\n" % (e, 2.3 - 0.15 * e, 2.2 - 0.12 * e,
                                                        20 + 5 * e, 60 + 3 * e, 5e-4 * (1 - e / 11)))

    # W_10 as a bare state dict, in half, with DataParallel prefixes
    sd = plain(models[10].state_dict())
    torch.save(sd, path("bare.bin"))
    vitref.save_safetensors(sd, path("bare.safetensors"))
    half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    torch.save(half, path("half.pth"))
    vitref.save_safetensors(half, path("half.safetensors"))
    mh = make_model(arch, 0)
    mh.load_state_dict(collections.OrderedDict((k, v.float()) for k, v in half.items()))
    save_refs("half", mh, pixels)
    torch.save({"state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
                "epoch": 10}, path("module.pth.tar"))

    # DeiT distilled, LayerScale, avg pooling with fc_norm
    deit = make_model("deit_test_tiny_distilled_patch8_32", 31)
    torch.save({"epoch": 3, "arch": "deit_test_tiny_distilled_patch8_32",
                "state_dict": deit.state_dict(), "version": 2}, path("deit.pth.tar"))
    vitref.save_safetensors(plain(deit.state_dict()), path("deit.safetensors"))
    save_refs("deit", deit, pixels)
    ls = make_model(arch, 32, init_values=1e-5)
    torch.save({"epoch": 3, "arch": arch, "state_dict": ls.state_dict(), "version": 2},
               path("ls.pth.tar"))
    save_refs("ls", ls, pixels)
    gap = make_model("vit_test_gap_patch8_32", 33)
    torch.save({"epoch": 3, "arch": "vit_test_gap_patch8_32", "state_dict": gap.state_dict(),
                "version": 2}, path("gap.pth.tar"))
    save_refs("gap", gap, pixels)

    # timm eval transform on a non-square image, end to end
    rng = np.random.RandomState(5)
    yy, xx = np.mgrid[0:37, 0:45]
    img = np.stack([(xx * 5 + yy * 2) % 256, (yy * 7) % 256, (xx * yy) % 256], -1)
    img = np.clip(img + rng.randint(-20, 21, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(path("img_45x37.png"))
    a = TEST_ARCHS[arch]
    t = timm_eval(Image.open(path("img_45x37.png")).convert("RGB"), a["img"], a["crop_pct"],
                  a["mean"], a["std"])
    np.save(path("img_45x37_vit_test.npy"), t.numpy().astype(np.float32))
    out = models[10].outputs(t[None])
    np.save(path("ref", "img_vit_test_head.npy"), out["head"].numpy().astype(np.float32))
    np.save(path("ref", "img_vit_test_logits.npy"), out["logits"].numpy().astype(np.float32))

    # vit_base_patch16_224's resize + crop (bicubic, floor(224 / 0.9) = 248)
    im = Image.open(os.path.join(IMG, "src_333x250.png")).convert("RGB")
    im = resize_crop(im, math.floor(224 / 0.9), 224)
    im.save(path("base_333x250.png"))

    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %s (%.0f KB)" % (OUT, total / 1024))


def resize_crop(im, size, crop):
    """torchvision Resize(size) (shorter side, PIL bicubic) + CenterCrop(crop)."""
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BICUBIC)
    assert crop <= nw and crop <= nh
    top = int(round((nh - crop) / 2.0))
    left = int(round((nw - crop) / 2.0))
    return im.crop((left, top, left + crop, top + crop))


def timm_eval(im, img_size, crop_pct, mean, std):
    """timm transforms_imagenet_eval (crop_mode center) + ToTensor + Normalize."""
    im = resize_crop(im, math.floor(img_size / crop_pct), img_size)
    t = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous().float().div(255)
    t = t.sub(torch.tensor(mean, dtype=torch.float32)[:, None, None])
    return t.div(torch.tensor(std, dtype=torch.float32)[:, None, None])


if __name__ == "__main__":
    main()
