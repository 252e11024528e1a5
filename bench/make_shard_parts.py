#!/usr/bin/python3
"""bench/make_shard_parts.py TEMPLATE_WORK OUT_WORK N D T SHARDS

Synthetic shard parts for timing `vitviz merge`: T checkpoints of N x D
float32 embeddings (+ N x C logits, C from the template), split the way
`vitviz embed --shard I/SHARDS` splits equal-cost checkpoints (batch-16
blocks, SHARDS contiguous equal-cost pieces), with part manifests copied
from TEMPLATE_WORK (a folder made by `vitviz embed --shard 0/1`, holding
its parts: their header and entry are reused, rows/plan/dims rewritten).
Random data: merge only copies rows, so the values do not matter.
"""
import glob
import json
import os
import sys

import numpy as np

tpl, out, n, d, t, shards = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
src = json.load(open(sorted(glob.glob(os.path.join(tpl, "embeddings", "*.part-*.json")))[0]))
c = len(src["entry"].get("id2label", []))
B = 16
nb = (n + B - 1) // B
total = t * n
# blocks in checkpoint order, each to the shard holding its middle (equal costs)
plan, cum = [], 0
for ck in range(t):
    units = []
    for b in range(nb):
        r0, r1 = b * B, min(n, b * B + B)
        owner = min(shards - 1, (2 * cum + (r1 - r0)) * shards // (2 * total))
        cum += r1 - r0
        if units and units[-1][2] == owner:
            units[-1][1] = r1
        else:
            units.append([r0, r1, owner])
    plan.append({"name": "checkpoint-%d" % (1000 * (ck + 1)), "fingerprint": "%032x" % (ck + 1), "units": units})
os.makedirs(os.path.join(out, "embeddings"), exist_ok=True)
os.makedirs(os.path.join(out, "logits"), exist_ok=True)
rng = np.random.default_rng(0)
header = dict(src["header"], n=n, dim=d)
for ck, p in enumerate(plan):
    for k, (r0, r1, owner) in enumerate(p["units"]):
        stem = "%s.part-%04d-of-%04d" % (p["name"], k, len(p["units"]))
        np.save(os.path.join(out, "embeddings", stem + ".npy"), rng.standard_normal((r1 - r0, d), dtype=np.float32))
        if c:
            np.save(os.path.join(out, "logits", stem + ".npy"), rng.standard_normal((r1 - r0, c), dtype=np.float32))
        entry = dict(src["entry"], name=p["name"], step=1000 * (ck + 1), fingerprint=p["fingerprint"], dim=d)
        j = dict(src, checkpoint=p["name"], part=k, parts=len(p["units"]), rows=[r0, r1], n=n,
                 shard={"index": owner, "count": shards, "source": "--shard"},
                 weights_fingerprint=p["fingerprint"], plan_fingerprint="synthetic",
                 entry=entry, header=header, plan=plan)
        with open(os.path.join(out, "embeddings", stem + ".json"), "w") as f:
            json.dump(j, f)
