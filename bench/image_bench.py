#!/usr/bin/python3
"""Peer of bench/image_bench.c: PIL decode + the same ViT preprocessing
(bilinear resize to 224x224, rescale 1/255, normalise by 0.5/0.5 with numpy,
CHW float32), what a Hugging Face image processor does with PIL.

    bench/image_bench.py IMAGE REPEATS

Prints one line of key=value pairs: decode_ms, preprocess_ms (mean per
image, after one warm-up), width, height.
"""
import io
import sys
import time

import numpy as np
from PIL import Image


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    with open(path, "rb") as f:
        data = f.read()
    t1 = t2 = 0.0
    for i in range(-1, n):
        a = time.perf_counter()
        im = Image.open(io.BytesIO(data))
        im = im.convert("RGB")
        im.load()
        b = time.perf_counter()
        x = np.asarray(im.resize((224, 224), Image.BILINEAR), dtype=np.float32)
        x = ((x * (1 / 255) - 0.5) / 0.5).transpose(2, 0, 1)
        x = np.ascontiguousarray(x)
        c = time.perf_counter()
        if i >= 0:
            t1 += b - a
            t2 += c - b
    print("decode_ms=%.3f preprocess_ms=%.3f width=%d height=%d" % (1e3 * t1 / n, 1e3 * t2 / n, im.width, im.height))


if __name__ == "__main__":
    main()
