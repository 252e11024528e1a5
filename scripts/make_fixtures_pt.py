#!/usr/bin/python3
"""make_fixtures_pt.py - fixtures for tests/test_pt.c and tests/test_pickle.c.

Run with Debian's Python (torch 1.13):  /usr/bin/python3 scripts/make_fixtures_pt.py
Writes tests/fixtures/pt/.  Deterministic (fixed seeds, fixed zip times).

Good files, each with a safetensors twin holding the same values contiguous:
  hf_pytorch_model.bin    torch.save(model.state_dict())            twin weights.safetensors
  checkpoint-3.pth.tar    timm train.py checkpoint (epoch, arch, state_dict,
                          AdamW optimizer state, version, args Namespace, metric)
                                                                     twin weights.safetensors
  half.bin                the state dict in float16                  twin half.safetensors
  module_prefix.pth       {'model': {'module.<k>': ...}} (DataParallel) twin weights.safetensors
  ema.pth.tar             state_dict + state_dict_ema                twins weights / ema.safetensors
  views.bin               non-contiguous views: q/k/v slices of one
                          storage (offsets), a transposed weight, a
                          permuted 4-D weight, a strided slice, a stride-0
                          expand, a 0-dim scalar, a small int64 tensor  twin views.safetensors
  mixed.bin               bfloat16 and float64 tensors               twin mixed.safetensors
  zip64.bin               hf_pytorch_model.bin re-packed with ZIP64 entries
  proto4.bin              the state dict saved with pickle_protocol=4   twin weights.safetensors
  legacy.pt               torch.save(sd, _use_new_zipfile_serialization=False)
                          (its storage keys are object addresses: the one file
                          that differs from run to run)  twin weights.safetensors
Bad / hostile files:
  evil_*.pt               data.pkl runs os.system / posix.system / builtins.eval /
                          subprocess.Popen under Python's pickle (checked here:
                          each really creates its marker /tmp/vitviz_pwned_*)
  bad_*.pt                crafted storages and views (see BAD below)
"""
import argparse
import collections
import io
import os
import pickle
import struct
import subprocess
import sys
import time
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pt")
ZTIME = (1980, 1, 1, 0, 0, 0)


def path(name):
    return os.path.join(OUT, name)


def make_model():
    torch.manual_seed(1234)
    cfg = vitref.hf_config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=32, image_size=16, patch_size=8)
    model = vitref.ViTForImageClassification(cfg, num_labels=4)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5 + 0.05)
    return model


def plain(sd):
    return collections.OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())


# ---------------------------------------------------------------- good files

def good_files():
    model = make_model()
    # one real AdamW step, so the optimizer state holds real tensors
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(2, 3, 16, 16)
    _, logits = model(x)
    logits.square().mean().backward()
    opt.step()

    sd = model.state_dict()
    vitref.save_safetensors(plain(sd), path("weights.safetensors"))

    # (a) bare Hugging Face state dict; also with pickle protocol 4 (FRAME,
    # MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)
    torch.save(sd, path("hf_pytorch_model.bin"))
    torch.save(sd, path("proto4.bin"), pickle_protocol=4)

    # (b) timm checkpoint
    ckpt = {"epoch": 3, "arch": "vit_tiny_patch16_224", "state_dict": sd,
            "optimizer": opt.state_dict(), "version": 2,
            "args": argparse.Namespace(model="vit_tiny_patch16_224", lr=1e-3),
            "metric": 0.5}
    torch.save(ckpt, path("checkpoint-3.pth.tar"))

    # (c) half precision
    half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    torch.save(half, path("half.bin"))
    vitref.save_safetensors(half, path("half.safetensors"))

    # (d) DataParallel prefixes under 'model'
    pref = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    torch.save({"model": pref, "epoch": 7}, path("module_prefix.pth"))

    # (e) EMA weights next to the regular ones
    torch.manual_seed(99)
    ema = collections.OrderedDict((k, v * 0.9 + 0.01 * torch.randn_like(v)) for k, v in sd.items())
    vitref.save_safetensors(plain(ema), path("ema.safetensors"))
    torch.save({"epoch": 5, "arch": "vit_tiny_patch16_224", "state_dict": sd,
                "state_dict_ema": ema, "version": 2}, path("ema.pth.tar"))

    # (f) views that share storages
    views = collections.OrderedDict()
    pfx = "vit.encoder.layer.0.attention.attention."
    d = sd[pfx + "query.weight"].shape[0]
    qkv = torch.cat([sd[pfx + "query.weight"], sd[pfx + "key.weight"], sd[pfx + "value.weight"]])
    for k, v in sd.items():
        views[k] = v.clone()
    views[pfx + "query.weight"] = qkv[0:d]
    views[pfx + "key.weight"] = qkv[d:2 * d]          # storage offset d*d
    views[pfx + "value.weight"] = qkv[2 * d:3 * d]    # storage offset 2*d*d
    w = sd["vit.encoder.layer.1.intermediate.dense.weight"]
    views["vit.encoder.layer.1.intermediate.dense.weight"] = w.t().contiguous().t()  # strides (1, out)
    w = sd["vit.embeddings.patch_embeddings.projection.weight"]
    views["vit.embeddings.patch_embeddings.projection.weight"] = \
        w.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    big = torch.arange(40, dtype=torch.float32).reshape(4, 10) * 0.25 - 3
    views["extra.strided"] = big[1:, 1::3]                         # offset 11, strides (10, 3)
    views["extra.expanded"] = torch.tensor([[1.5, -2.0, 0.25]]).expand(4, 3)  # stride 0
    views["extra.scalar"] = torch.tensor(3.5)
    views["extra.long"] = torch.arange(6, dtype=torch.int64).reshape(2, 3) - 2
    assert not views[pfx + "key.weight"].is_contiguous() or views[pfx + "key.weight"].storage_offset() > 0
    assert not views["extra.strided"].is_contiguous()
    torch.save(views, path("views.bin"))
    vitref.save_safetensors(plain(views), path("views.safetensors"))

    # (g) bfloat16 / float64
    mixed = collections.OrderedDict(
        (k, v.bfloat16() if i % 2 else v.double()) for i, (k, v) in enumerate(sd.items()))
    torch.save(mixed, path("mixed.bin"))
    vitref.save_safetensors(mixed, path("mixed.safetensors"))

    # (h) the same entries with ZIP64 extra fields
    with zipfile.ZipFile(path("hf_pytorch_model.bin")) as src, \
            zipfile.ZipFile(path("zip64.bin"), "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=ZTIME)
            with dst.open(zi, "w", force_zip64=True) as f:
                f.write(src.read(info.filename))

    # legacy (pre-1.6) format
    torch.save(sd, path("legacy.pt"), _use_new_zipfile_serialization=False)


# ----------------------------------------------------------- crafted pickles

def write_pt_zip(name, pkl, storages=(), top="archive", byteorder=b"little", with_pkl=True):
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
        def put(n, b):
            z.writestr(zipfile.ZipInfo(n, date_time=ZTIME), b)
        if with_pkl:
            put(top + "/data.pkl", pkl)
        if byteorder is not None:
            put(top + "/byteorder", byteorder)
        for k, b in storages:
            put(top + "/data/" + k, b)
        put(top + "/version", b"3\n")


def ustr(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


EVIL = {
    # name: (marker, pickle body after PROTO 2, GLOBAL ... REDUCE)
    "os_system": b"cos\nsystem\n" + ustr("touch /tmp/vitviz_pwned_os_system") + b"\x85R",
    "posix_system": b"cposix\nsystem\n" + ustr("touch /tmp/vitviz_pwned_posix_system") + b"\x85R",
    "eval": b"cbuiltins\neval\n" +
            ustr("__import__('os').system('touch /tmp/vitviz_pwned_eval')") + b"\x85R",
    "popen": b"csubprocess\nPopen\n(]q\x00(" + ustr("touch") + ustr("/tmp/vitviz_pwned_popen") +
             b"etR",
}


def evil_pickles():
    out = {}
    for k, body in EVIL.items():
        out["evil_" + k] = b"\x80\x02" + body + b"."
    # protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL
    cmd = b"touch /tmp/vitviz_pwned_stack_global"
    body = (b"\x8c\x02os\x94\x8c\x06system\x94\x93\x94" +
            b"\x8c" + bytes([len(cmd)]) + cmd + b"\x94\x85\x94R\x94.")
    out["evil_stack_global"] = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body
    return out


def check_evil(name, pkl):
    """The pickle really is an exploit: Python's pickle runs the command."""
    marker = "/tmp/vitviz_pwned_" + name[len("evil_"):]
    if os.path.exists(marker):
        os.unlink(marker)
    code = "import pickle,sys,time; pickle.loads(sys.stdin.buffer.read()); time.sleep(0.3)"
    subprocess.run([sys.executable, "-c", code], input=pkl, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if os.path.exists(marker):
            break
        time.sleep(0.05)
    assert os.path.exists(marker), "%s does not trigger under pickle" % name
    os.unlink(marker)


class FakeStorage:
    def __init__(self, key, numel, cls=torch.FloatStorage):
        self.key, self.numel, self.cls = key, numel, cls


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/vitviz_pwned_embedded",))


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def tpickle(obj):
    f = io.BytesIO()
    TorchLikePickler(f, protocol=2).dump(obj)
    return f.getvalue()


def f32(n, start=0.0):
    return struct.pack("<%df" % n, *[start + 0.5 * i for i in range(n)])


def crafted():
    s10 = FakeStorage("0", 10)
    good = collections.OrderedDict(w=FakeTensor(s10, 0, (2, 5), (5, 1)))

    # a real state dict with an exploit as one of its values: tensors load, the value is inert
    d = collections.OrderedDict(w=FakeTensor(s10, 0, (2, 5), (5, 1)))
    d["evil"] = Evil()
    pkl = tpickle(d)
    assert b"system" in pkl
    write_pt_zip("evil_embedded.pt", pkl, [("0", f32(10))])

    for name, pkl in evil_pickles().items():
        check_evil(name, pkl)
        write_pt_zip(name + ".pt", pkl)

    BAD = {
        # storage entry holds 10 floats, the pickle says 100
        "bad_short_storage": (collections.OrderedDict(w=FakeTensor(FakeStorage("0", 100), 0, (10,), (1,))),
                              [("0", f32(10))]),
        # (4, 4) view needs 16 elements of a 10-element storage
        "bad_view": (collections.OrderedDict(w=FakeTensor(s10, 0, (4, 4), (4, 1))), [("0", f32(10))]),
        # offset past the storage
        "bad_offset": (collections.OrderedDict(w=FakeTensor(s10, 20, (1,), (1,))), [("0", f32(10))]),
        # 2^40 elements with real strides
        "bad_huge": (collections.OrderedDict(w=FakeTensor(s10, 0, (1 << 20, 1 << 20), (1 << 20, 1))),
                     [("0", f32(10))]),
        # 2^40 elements from one element (stride 0)
        "bad_expand": (collections.OrderedDict(w=FakeTensor(s10, 0, (1 << 20, 1 << 20), (0, 0))),
                       [("0", f32(10))]),
        # size x stride overflows int64
        "bad_overflow": (collections.OrderedDict(w=FakeTensor(s10, 0, (1 << 62, 4), (1 << 62, 1))),
                         [("0", f32(10))]),
        # negative stride
        "bad_negstride": (collections.OrderedDict(w=FakeTensor(s10, 9, (10,), (-1,))), [("0", f32(10))]),
        # storage entry missing from the zip
        "bad_missing_storage": (good, []),
        # storage key that tries to leave the folder
        "bad_key": (collections.OrderedDict(w=FakeTensor(FakeStorage("../0", 10), 0, (10,), (1,))),
                    [("0", f32(10))]),
        # nine dimensions
        "bad_ndim": (collections.OrderedDict(w=FakeTensor(s10, 0, (1,) * 9, (1,) * 9)), [("0", f32(10))]),
    }
    for name, (obj, storages) in BAD.items():
        write_pt_zip(name + ".pt", tpickle(obj), storages)

    write_pt_zip("bad_no_pkl.pt", b"", [("0", f32(10))], with_pkl=False)
    write_pt_zip("bad_big_endian.pt", tpickle(good), [("0", f32(10))], byteorder=b"big")
    # an opcode outside the subset (INST) after a valid start
    write_pt_zip("bad_opcode.pt", b"\x80\x02}q\x00(ios\nsystem\n.")
    # pickle with no tensors at all
    write_pt_zip("bad_no_tensors.pt", tpickle({"epoch": 1, "note": "nothing here"}))
    # a good crafted file, to show the crafting itself is sound
    write_pt_zip("crafted_ok.pt", tpickle(good), [("0", f32(10))])


def main():
    os.makedirs(OUT, exist_ok=True)
    good_files()
    crafted()
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
