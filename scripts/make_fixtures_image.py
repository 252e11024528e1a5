#!/usr/bin/python3
"""Fixtures for tests/test_image.c: decode, convert("RGB"), resize and
preprocessing results from Pillow 9.4 (Debian's, same libjpeg-turbo 2.1.5 as
vitviz links), written to tests/fixtures/image/.

Run with Debian's Python: /usr/bin/python3 scripts/make_fixtures_image.py

cases.txt lists one case per line (whitespace separated):
  decode   <input> <expected RGB png>          Pillow open + convert("RGB")
  hash     <input> <w> <h> <fnv1a64 hex>        same, for a larger JPEG: hash
                                                of the w*h*3 RGB bytes
  resize   <src png> <w> <h> <resample> <expected png>
  vit      <src png> <w> <h> <resample> <rescale> <m0 m1 m2> <s0 s1 s2> <npy>
  timm     <src png> <shortest> <crop_w> <crop_h> <resample> <m0 m1 m2>
           <s0 s1 s2> <npy>
  hf       <src png> <shortest> <crop_w> <crop_h> <resample> <m0 m1 m2>
           <s0 s1 s2> <npy>
  bad      <input> <expected error name>        must fail with that code

The ViT reference follows transformers' ViTImageProcessor (PIL path):
PIL resize((w, h), resample), then image.astype(float64) * rescale
.astype(float32), then (x - mean) / std with float32 mean/std, then CHW.
The timm reference follows torchvision 0.14 (not installed here, its code
mirrored): Resize(int) computes the longer side as
int(size * long / short), CenterCrop pads with zeros when needed and takes
top = int(round((h - ch) / 2.0)) (Python round), ToTensor divides by 255
in float32, Normalize subtracts and divides in float32 (torch).
The hf reference is a Hugging Face image processor with
size {"shortest_edge"} and do_center_crop (transformers' image_transforms,
arithmetic restated here since transformers is not installed):
get_resize_output_image_size gives the longer side int(size * long /
short), PIL resizes, center_crop takes top = (H - h) // 2 (floor) and pads a
too-small side with ceil((h - H) / 2) zeros before, rescale is float64 *
1/255 cast to float32, normalize is float32.
"""
import io
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image

SK = "/usr/lib/python3/dist-packages/sklearn/datasets/images"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "image")
OUT = os.path.normpath(OUT)

RS = {"nearest": Image.NEAREST, "lanczos": Image.LANCZOS, "bilinear": Image.BILINEAR,
      "bicubic": Image.BICUBIC, "box": Image.BOX, "hamming": Image.HAMMING}

lines = []


def path(name):
    return os.path.join(OUT, name)


def save_png(im, name):
    im.save(path(name), "PNG", optimize=True)


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for x in b:
        h ^= x
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def expect_decode(name):
    """Record what Pillow decodes `name` to."""
    im = Image.open(path(name))
    rgb = im.convert("RGB")
    exp = name.rsplit(".", 1)[0] + ".rgb.png"
    save_png(rgb, exp)
    lines.append(f"decode {name} {exp}")


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def raw_png(w, h, depth, ctype, rows, extra=b"", interlace=0):
    """A PNG written by hand (filter 0 per row) for modes Pillow cannot save."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    data = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(path(f))
    rng = np.random.default_rng(1234)
    china = Image.open(os.path.join(SK, "china.jpg")).convert("RGB")
    flower = Image.open(os.path.join(SK, "flower.jpg")).convert("RGB")

    # ---- lossless sources of odd sizes ----
    srcs = {
        "src_97x61.png": china.crop((300, 150, 397, 211)),
        "src_333x250.png": flower.crop((150, 90, 483, 340)),
        "src_17x23.png": china.crop((200, 200, 217, 223)),
        "src_250x333.png": china.crop((50, 40, 300, 373)),
    }
    for n, im in srcs.items():
        save_png(im, n)

    # ---- JPEG decode parity ----
    crop = china.crop((100, 100, 261, 221))  # 161 x 121, odd for edge blocks
    crop.save(path("q90_420.jpg"), quality=90)                       # 4:2:0
    crop.save(path("q95_444.jpg"), quality=95, subsampling=0)        # 4:4:4
    crop.save(path("q80_422.jpg"), quality=80, subsampling=1)        # 4:2:2
    crop.save(path("prog.jpg"), quality=85, progressive=True)
    crop.convert("L").save(path("gray.jpg"), quality=90)
    crop.convert("CMYK").save(path("cmyk.jpg"), quality=90)
    flower.crop((10, 20, 71, 57)).save(path("small_61x37.jpg"), quality=75)
    for n in ["q90_420.jpg", "q95_444.jpg", "q80_422.jpg", "prog.jpg", "gray.jpg",
              "cmyk.jpg", "small_61x37.jpg"]:
        expect_decode(n)
    # a ~500x375 photo for parity by hash and for timing
    china.crop((70, 30, 570, 405)).save(path("photo_500x375.jpg"), quality=90)
    big = Image.open(path("photo_500x375.jpg")).convert("RGB")
    lines.append("hash photo_500x375.jpg %d %d %016x" % (big.width, big.height,
                                                       fnv1a64(big.tobytes())))

    # ---- PNG modes and convert("RGB") ----
    base = np.asarray(china.crop((400, 250, 437, 279)))  # 37 x 29
    h, w = base.shape[:2]
    gray = np.asarray(Image.fromarray(base).convert("L"))
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    Image.fromarray(gray).save(path("m_gray.png"))
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(path("m_gray_alpha.png"))
    Image.fromarray(np.dstack([base, alpha]), "RGBA").save(path("m_rgba.png"))
    Image.fromarray(base).quantize(200).save(path("m_palette.png"))
    pal = Image.fromarray(base).quantize(16)
    pal.save(path("m_palette4.png"), bits=4)
    pal.save(path("m_palette_trns.png"), transparency=3)
    Image.fromarray(gray).save(path("m_gray_trns.png"), transparency=17)
    Image.fromarray(base).save(path("m_rgb_trns.png"), transparency=(10, 20, 30))
    Image.fromarray(gray).convert("1").save(path("m_1bit.png"))
    # 16-bit: gray (Pillow mode "I", clipped), RGB / RGBA / LA (high byte)
    g16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    g16[0, :8] = [0, 1, 255, 256, 300, 1000, 65280, 65535]
    rgb16 = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    a16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    be = lambda a: a.astype(">u2").tobytes()
    with open(path("m_gray16.png"), "wb") as f:
        f.write(raw_png(w, h, 16, 0, [be(g16[y]) for y in range(h)]))
    with open(path("m_rgb16.png"), "wb") as f:
        f.write(raw_png(w, h, 16, 2, [be(rgb16[y]) for y in range(h)]))
    with open(path("m_rgba16.png"), "wb") as f:
        f.write(raw_png(w, h, 16, 6, [be(np.dstack([rgb16, a16])[y]) for y in range(h)]))
    with open(path("m_gray_alpha16.png"), "wb") as f:
        f.write(raw_png(w, h, 16, 4, [be(np.dstack([g16, a16])[y]) for y in range(h)]))
    # 2-bit gray, palette index past the end of PLTE
    g2 = rng.integers(0, 4, (h, w), dtype=np.uint8)
    rows = [np.packbits(np.unpackbits(g2[y][:, None], axis=1)[:, 6:].reshape(-1)).tobytes()
            for y in range(h)]
    with open(path("m_gray2.png"), "wb") as f:
        f.write(raw_png(w, h, 2, 0, rows))
    idx = rng.integers(0, 256, (h, w), dtype=np.uint8)
    plte = chunk(b"PLTE", bytes(rng.integers(0, 256, 3 * 100, dtype=np.uint8)))
    with open(path("m_palette_oob.png"), "wb") as f:
        f.write(raw_png(w, h, 8, 3, [idx[y].tobytes() for y in range(h)], plte))
    # Adam7 interlaced RGB, by hand
    with open(path("m_interlaced.png"), "wb") as f:
        f.write(adam7_png(base))
    for n in ["m_gray.png", "m_gray_alpha.png", "m_rgba.png", "m_palette.png",
              "m_palette4.png", "m_palette_trns.png", "m_gray_trns.png", "m_rgb_trns.png",
              "m_1bit.png", "m_gray16.png", "m_rgb16.png", "m_rgba16.png",
              "m_gray_alpha16.png", "m_gray2.png", "m_palette_oob.png", "m_interlaced.png"]:
        expect_decode(n)

    # ---- resize ----
    def resize_case(src, w, h, rs):
        im = Image.open(path(src))
        out = im.resize((w, h), RS[rs])
        name = "rs_%s_%dx%d_%s.png" % (src[4:-4], w, h, rs)
        save_png(out, name)
        lines.append(f"resize {src} {w} {h} {RS[rs]} {name}")

    resize_case("src_333x250.png", 224, 224, "bilinear")   # ViT: shrink
    resize_case("src_97x61.png", 224, 224, "bicubic")      # enlarge
    resize_case("src_97x61.png", 160, 120, "bilinear")
    resize_case("src_333x250.png", 96, 80, "bicubic")
    resize_case("src_250x333.png", 64, 48, "bilinear")
    resize_case("src_250x333.png", 64, 48, "bicubic")
    resize_case("src_17x23.png", 32, 32, "bicubic")
    resize_case("src_17x23.png", 64, 48, "bilinear")
    resize_case("src_97x61.png", 200, 30, "bicubic")       # enlarge x, shrink y
    resize_case("src_333x250.png", 333, 100, "bilinear")   # vertical pass only
    resize_case("src_333x250.png", 100, 250, "bicubic")    # horizontal pass only
    for rs in ["lanczos", "box", "hamming", "nearest"]:
        resize_case("src_250x333.png", 48, 40, rs)
    resize_case("src_17x23.png", 40, 50, "lanczos")
    resize_case("src_17x23.png", 40, 50, "nearest")
    resize_case("src_97x61.png", 37, 29, "nearest")
    resize_case("src_97x61.png", 97, 61, "bicubic")        # same size: copy

    # ---- preprocessing ----
    def vit_case(src, w, h, rs, rescale, mean, std):
        im = Image.open(path(src)).convert("RGB")
        x = np.asarray(im.resize((w, h), RS[rs]))
        x = (x.astype(np.float64) * rescale).astype(np.float32)
        x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1).astype(np.float32))
        name = "vit_%s_%dx%d_%s.npy" % (src[4:-4], w, h, rs)
        np.save(path(name), x)
        lines.append("vit %s %d %d %d %.17g %s %s %s" % (
            src, w, h, RS[rs], rescale, " ".join("%.9g" % m for m in mean),
            " ".join("%.9g" % s for s in std), name))

    def timm_case(src, shortest, cw, ch, rs, mean, std):
        im = Image.open(path(src)).convert("RGB")
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = shortest, int(shortest * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), RS[rs])
        # torchvision CenterCrop
        if cw > nw or ch > nh:
            pl = (cw - nw) // 2 if cw > nw else 0
            pt = (ch - nh) // 2 if ch > nh else 0
            pr = (cw - nw + 1) // 2 if cw > nw else 0
            pb = (ch - nh + 1) // 2 if ch > nh else 0
            pad = Image.new("RGB", (nw + pl + pr, nh + pt + pb))
            pad.paste(im, (pl, pt))
            im = pad
            nw, nh = im.size
        top = int(round((nh - ch) / 2.0))
        left = int(round((nw - cw) / 2.0))
        im = im.crop((left, top, left + cw, top + ch))
        t = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous()
        t = t.float().div(255)
        t = t.sub(torch.tensor(mean, dtype=torch.float32)[:, None, None])
        t = t.div(torch.tensor(std, dtype=torch.float32)[:, None, None])
        name = "timm_%s_%d_%dx%d_%s.npy" % (src[4:-4], shortest, cw, ch, rs)
        np.save(path(name), t.numpy().astype(np.float32))
        lines.append("timm %s %d %d %d %d %s %s %s" % (
            src, shortest, cw, ch, RS[rs], " ".join("%.9g" % m for m in mean),
            " ".join("%.9g" % s for s in std), name))

    def hf_case(src, shortest, cw, ch, rs, mean, std):
        im = Image.open(path(src)).convert("RGB")
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = shortest, int(shortest * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
        x = np.asarray(im.resize((nw, nh), RS[rs]) if (nw, nh) != (w, h) else im)
        # transformers' center_crop, in (H, W, C)
        top, left = (nh - ch) // 2, (nw - cw) // 2
        if top < 0 or left < 0:
            big = np.zeros((max(ch, nh), max(cw, nw), 3), dtype=x.dtype)
            tp = -(-(big.shape[0] - nh) // 2)  # ceil
            lp = -(-(big.shape[1] - nw) // 2)
            big[tp:tp + nh, lp:lp + nw] = x
            x, top, left = big, top + tp, left + lp
        x = x[max(0, top):top + ch, max(0, left):left + cw]
        x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)
        x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1).astype(np.float32))
        name = "hf_%s_%d_%dx%d_%s.npy" % (src[4:-4], shortest, cw, ch, rs)
        np.save(path(name), x)
        lines.append("hf %s %d %d %d %d %s %s %s" % (
            src, shortest, cw, ch, RS[rs], " ".join("%.9g" % m for m in mean),
            " ".join("%.9g" % s for s in std), name))

    half = [0.5, 0.5, 0.5]
    inet_m, inet_s = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    vit_case("src_333x250.png", 64, 48, "bilinear", 1 / 255, half, half)
    vit_case("src_97x61.png", 48, 48, "bilinear", 1 / 255, half, half)
    vit_case("src_250x333.png", 32, 40, "bicubic", 1 / 255, inet_m, inet_s)
    # timm vit_tiny: shorter side floor(224 / 0.9) = 248, crop 224, scaled down
    timm_case("src_250x333.png", 72, 64, 64, "bicubic", half, half)   # top 15.5 -> 16
    timm_case("src_333x250.png", 40, 20, 20, "bicubic", inet_m, inet_s)  # left 16.5 -> 16
    timm_case("src_97x61.png", 56, 48, 40, "bilinear", half, half)
    timm_case("src_17x23.png", 17, 21, 27, "bicubic", half, half)     # crop > image: pad
    # Hugging Face shortest_edge + center_crop: offsets where floor and
    # round-half-even differ (53 - 50 = 3: floor 1, round 2) and padding
    # where ceil and floor differ
    hf_case("src_333x250.png", 40, 50, 37, "bilinear", half, half)
    hf_case("src_250x333.png", 41, 38, 51, "bicubic", inet_m, inet_s)
    hf_case("src_17x23.png", 17, 20, 26, "bilinear", half, half)      # crop > image: pad
    hf_case("src_97x61.png", 61, 90, 58, "bicubic", half, half)

    # ---- bad inputs ----
    jpg = open(path("q90_420.jpg"), "rb").read()
    open(path("bad_trunc.jpg"), "wb").write(jpg[: len(jpg) // 2])
    open(path("bad_header.jpg"), "wb").write(jpg[:2] + b"\xff\xc0\x00\x05garbage" + jpg[40:200])
    png = open(path("src_97x61.png"), "rb").read()
    open(path("bad_trunc.png"), "wb").write(png[: len(png) // 2])
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # IHDR CRC
    open(path("bad_crc.png"), "wb").write(bytes(bad_crc))
    open(path("bad_magic.png"), "wb").write(b"GIF89a" + png[6:100])
    # huge declared sizes, tiny files
    with open(path("huge.png"), "wb") as f:
        f.write(raw_png(40000, 40000, 8, 2, []))
    # patch the SOF0 of a real JPEG to 60000 x 60000
    b = bytearray(jpg)
    i = b.find(b"\xff\xc0")
    struct.pack_into(">HH", b, i + 5, 60000, 60000)
    open(path("huge.jpg"), "wb").write(bytes(b))
    big_ok = bytearray(jpg)  # 20000 x 20000 = 4e8 pixels: over the 2^28 pixel cap
    struct.pack_into(">HH", big_ok, i + 5, 20000, 20000)
    open(path("huge_pixels.jpg"), "wb").write(bytes(big_ok))
    for n, e in [("bad_trunc.jpg", "EFORMAT"), ("bad_header.jpg", "EFORMAT"),
                 ("bad_trunc.png", "EFORMAT"), ("bad_crc.png", "EFORMAT"),
                 ("bad_magic.png", "EFORMAT"), ("huge.png", "EUNSUPPORTED"),
                 ("huge.jpg", "EUNSUPPORTED"), ("huge_pixels.jpg", "EUNSUPPORTED")]:
        for_pillow = None
        try:
            Image.open(path(n)).convert("RGB")
        except Exception as ex:  # Pillow must reject these too
            for_pillow = type(ex).__name__
        assert for_pillow, n
        lines.append(f"bad {n} {e}")

    with open(path("cases.txt"), "w") as f:
        f.write("# made by scripts/make_fixtures_image.py with Pillow %s\n" % Image.__version__)
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("%d cases, %d files, %d bytes" % (len(lines), len(os.listdir(OUT)), total))


def adam7_png(rgb):
    """Adam7-interlaced 8-bit RGB PNG (filter 0 in every pass row)."""
    h, w = rgb.shape[:2]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    data = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            data += b"\x00" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
