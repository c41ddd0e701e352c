"""Writes the held-out super-resolution evaluation pairs that bench/sr-quality.mjs reads.

HR: every 256x256 crop of each domain's test split (36 aerial, 26 photo; training/data prepares them; the images
were never trained on), the same crops the model cards' test tables score, so that the SDK benchmarks and the cards
measure one population. --n N keeps N crops spread over the split instead (a quicker, less representative set).
LR: made by training's own degradation (antialiased Keys cubic x4, rounded to 8 bits), so the pairs are exactly what
the models were trained to invert.

--split val --size S writes larger crops of the validation images instead (S x S, --per-image of each, seeded), for
choices that must not be tuned on the test split and need more than the 128-px validation crops, such as the default
tile size (bench/sr-tile.mjs).

Usage: /usr/bin/python3 bench/make-sr-eval-set.py [--n N] [--split val --size 384 --per-image 4]
       (after `training/data/fetch.py` and `prepare.py`)
Writes ~/.cache/diffusekit/eval/sr-x4/<domain>/<index>_hr.png and _lr.png (test), or eval/sr-x4-val<S>/ (val).
"""
import argparse
import json
import os
import random
import sys

import numpy as np
from PIL import Image

TRAINING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training")
sys.path.insert(0, TRAINING)
sys.path.insert(0, os.path.join(TRAINING, "data"))
from dktrain.degrade import make_lr, to_pm1, to_u8  # noqa: E402

CACHE = os.environ.get("DIFFUSEKIT_CACHE", os.path.expanduser("~/.cache/diffusekit"))


def validation_crops(domain, size, per_image):
    """`per_image` seeded non-overlapping size x size crops of every validation image of the domain (the images of
    prepare.py's *_val_c128.npy, cut larger), in split order."""
    from prepare import grid_crops, load  # the same image loading (photos halved) and crop rule as the split files

    with open(os.path.join(TRAINING, "data", "splits.json")) as f:
        entries = [e for e in json.load(f)["domains"][domain] if e["split"] == "val"]
    rng = random.Random(f"val{size}-{domain}")
    crops = [c for e in entries for c in grid_crops(load(domain, e["package"], e["path"]), size, per_image, rng)]
    return np.stack(crops)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=0, help="crops per domain, spread over the split (0: all)")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--size", type=int, default=384, help="HR crop side for --split val (a multiple of 4)")
    parser.add_argument("--per-image", type=int, default=4, help="crops per validation image for --split val")
    args = parser.parse_args()
    if args.split == "val" and args.size % 4:
        sys.exit(f"--size must be a multiple of 4 (the scale), got {args.size}")
    folder = "sr-x4" if args.split == "test" else f"sr-x4-val{args.size}"
    described = {}
    for domain in ("aerial", "photo"):
        crops = (np.load(os.path.join(CACHE, "prepared", f"{domain}_test_c256.npy")) if args.split == "test"
                 else validation_crops(domain, args.size, args.per_image))
        # A subset is spread over the split, which is ordered by source image.
        picks = np.arange(len(crops)) if args.n <= 0 else np.linspace(0, len(crops) - 1, args.n).round().astype(int)
        out = os.path.join(CACHE, "eval", folder, domain)
        os.makedirs(out, exist_ok=True)
        for stale in os.listdir(out):  # a set of another size must not leave pairs behind
            os.remove(os.path.join(out, stale))
        hr = crops[picks]
        lr = to_u8(make_lr(to_pm1(hr), 4))
        for i, (h, l) in enumerate(zip(hr, lr)):
            Image.fromarray(h).save(os.path.join(out, f"{i:02d}_hr.png"))
            Image.fromarray(l).save(os.path.join(out, f"{i:02d}_lr.png"))
        described[domain] = {"crops": int(len(picks)), "split": int(len(crops))}
        print(domain, len(picks), "pairs ->", out)
    # what the benchmarks say they measured
    with open(os.path.join(CACHE, "eval", folder, "set.json"), "w") as f:
        json.dump(described, f, indent=2)


if __name__ == "__main__":
    main()
