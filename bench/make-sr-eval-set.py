"""Writes the held-out super-resolution evaluation pairs that bench/sr-quality.mjs reads.

HR: the first N 256x256 crops of each domain's test split (training/data prepares them; the images were never
trained on). LR: made by training's own degradation (antialiased Keys cubic x4, rounded to 8 bits), so the pairs are
exactly what the models were trained to invert.

Usage: /usr/bin/python3 bench/make-sr-eval-set.py [--n 8]   (after `training/data/fetch.py` and `prepare.py`)
Writes ~/.cache/diffusekit/eval/sr-x4/<domain>/<index>_hr.png and _lr.png.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from dktrain.degrade import make_lr, to_pm1, to_u8  # noqa: E402

CACHE = os.environ.get("DIFFUSEKIT_CACHE", os.path.expanduser("~/.cache/diffusekit"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()
    for domain in ("aerial", "photo"):
        crops = np.load(os.path.join(CACHE, "prepared", f"{domain}_test_c256.npy"))
        # Spread the picks over the split, which is ordered by source image.
        picks = np.linspace(0, len(crops) - 1, args.n).round().astype(int)
        out = os.path.join(CACHE, "eval", "sr-x4", domain)
        os.makedirs(out, exist_ok=True)
        hr = crops[picks]
        lr = to_u8(make_lr(to_pm1(hr), 4))
        for i, (h, l) in enumerate(zip(hr, lr)):
            Image.fromarray(h).save(os.path.join(out, f"{i:02d}_hr.png"))
            Image.fromarray(l).save(os.path.join(out, f"{i:02d}_lr.png"))
        print(domain, len(picks), "pairs ->", out)


if __name__ == "__main__":
    main()
