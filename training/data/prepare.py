#!/usr/bin/env python3
"""Build the train/validation/test splits (by whole source image, fixed seed) and the patch arrays.

Writes training/data/splits.json (committed: every file with its sha256 and split) and, in the cache
($DIFFUSEKIT_CACHE, default ~/.cache/diffusekit/prepared/):
  <domain>_train_p96.npy    uint8 [N, 96, 96, 3] HR training patches (random 64^2 crops are cut from them)
  <domain>_val_c128.npy     uint8 [N, 128, 128, 3] fixed HR validation crops (LR = 32^2 at x4)
  <domain>_test_c256.npy    uint8 [N, 256, 256, 3] fixed HR test crops (LR = 64^2 at x4)
Photographs (JPEG wallpapers) are first downscaled by 2 (PIL Lanczos) so compression blocks do not become ground
truth; aerial textures (lossless PNG) are used at their native resolution. Idempotent: skips work whose inputs'
checksums are unchanged.

Usage: /usr/bin/python3 training/data/prepare.py   (after training/data/fetch.py)
"""
import hashlib
import json
import os
import random
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sources import sources  # noqa: E402

sys.path.insert(0, os.path.join(HERE, ".."))
from dktrain.files import sha256_file as sha256  # noqa: E402

CACHE = os.path.expanduser(os.environ.get("DIFFUSEKIT_CACHE", "~/.cache/diffusekit"))
RAW = os.path.join(CACHE, "raw")
OUT = os.path.join(CACHE, "prepared")
SEED = 20240601
SPLIT_COUNTS = {"aerial": {"val": 6, "test": 6}, "photo": {"val": 5, "test": 5}}
PATCH, STRIDE = 96, 96
VAL_CROP, VAL_PER_IMAGE = 128, 12
TEST_CROP, TEST_PER_IMAGE = 256, 6
MIN_STD = 2.0  # drop near-flat patches (clear sky, blank fill): they teach nothing



def load(domain, pkg, rel):
    im = Image.open(os.path.join(RAW, pkg, rel))
    im = im.convert("RGB")
    if domain == "photo":
        im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
    return np.asarray(im)


def grid_crops(img, size, count, rng):
    """`count` non-overlapping crops spread over the image (random grid cells, fixed rng)."""
    h, w, _ = img.shape
    cells = [(y, x) for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
    good = [c for c in cells if img[c[0]:c[0] + size, c[1]:c[1] + size].std() >= MIN_STD]
    rng.shuffle(good)
    return [img[y:y + size, x:x + size] for y, x in good[:count]]


def main():
    os.makedirs(OUT, exist_ok=True)
    srcs = sources()
    splits = {"seed": SEED, "note": "split by whole source image; photos downscaled x2 (Lanczos) before cropping",
              "cache_files": {}, "domains": {}}
    for domain, items in srcs.items():
        entries = []
        for pkg, rel in items:
            p = os.path.join(RAW, pkg, rel)
            if not os.path.exists(p):
                sys.exit(f"missing {p}: run training/data/fetch.py first")
            with Image.open(p) as im:
                size = list(im.size)
            entries.append({"package": pkg, "path": rel, "sha256": sha256(p), "size": size})
        order = sorted(range(len(entries)), key=lambda i: entries[i]["path"])
        random.Random(f"{SEED}-{domain}").shuffle(order)
        n_val, n_test = SPLIT_COUNTS[domain]["val"], SPLIT_COUNTS[domain]["test"]
        for j, i in enumerate(order):
            entries[i]["split"] = "test" if j < n_test else "val" if j < n_test + n_val else "train"
        splits["domains"][domain] = entries

    stamp = hashlib.sha256(json.dumps(splits, sort_keys=True).encode()).hexdigest()
    stamp_path = os.path.join(OUT, "stamp.txt")
    done = os.path.exists(stamp_path) and open(stamp_path).read().strip() == stamp

    for domain, entries in splits["domains"].items():
        rng = random.Random(f"{SEED}-{domain}-crops")
        train, val, test = [], [], []
        for e in entries:
            if done:
                break
            img = load(domain, e["package"], e["path"])
            if e["split"] == "train":
                h, w, _ = img.shape
                for y in range(0, h - PATCH + 1, STRIDE):
                    for x in range(0, w - PATCH + 1, STRIDE):
                        c = img[y:y + PATCH, x:x + PATCH]
                        if c.std() >= MIN_STD:
                            train.append(c)
            elif e["split"] == "val":
                val += grid_crops(img, VAL_CROP, VAL_PER_IMAGE, rng)
            else:
                test += grid_crops(img, TEST_CROP, TEST_PER_IMAGE, rng)
        for name, arr in ((f"{domain}_train_p{PATCH}", train), (f"{domain}_val_c{VAL_CROP}", val),
                          (f"{domain}_test_c{TEST_CROP}", test)):
            path = os.path.join(OUT, name + ".npy")
            if not done:
                np.save(path, np.stack(arr).astype(np.uint8))
            a = np.load(path, mmap_mode="r")
            splits["cache_files"][name + ".npy"] = {"shape": list(a.shape), "sha256": sha256(path)}
            print(domain, name, a.shape, flush=True)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    with open(os.path.join(HERE, "splits.json"), "w") as f:
        json.dump(splits, f, indent=1)
        f.write("\n")
    for d, es in splits["domains"].items():
        print(d, {s: sum(e["split"] == s for e in es) for s in ("train", "val", "test")})


if __name__ == "__main__":
    main()
