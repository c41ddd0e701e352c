"""Writes the held-out super-resolution evaluation pairs that bench/sr-quality.mjs reads.

HR: every 256x256 crop of each domain's test split (36 aerial, 26 photo; training/data prepares them; the images
were never trained on), the same crops the model cards' test tables score, so that the SDK benchmarks and the cards
measure one population. --n N keeps N crops spread over the split instead (a quicker, less representative set).
LR: made by training's own degradation (antialiased Keys cubic x4, rounded to 8 bits), so the pairs are exactly what
the models were trained to invert.

Usage: /usr/bin/python3 bench/make-sr-eval-set.py [--n N]   (after `training/data/fetch.py` and `prepare.py`)
Writes ~/.cache/diffusekit/eval/sr-x4/<domain>/<index>_hr.png and _lr.png.
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from dktrain.degrade import make_lr, to_pm1, to_u8  # noqa: E402

CACHE = os.environ.get("DIFFUSEKIT_CACHE", os.path.expanduser("~/.cache/diffusekit"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=0, help="crops per domain, spread over the split (0: all)")
    args = parser.parse_args()
    described = {}
    for domain in ("aerial", "photo"):
        crops = np.load(os.path.join(CACHE, "prepared", f"{domain}_test_c256.npy"))
        # A subset is spread over the split, which is ordered by source image.
        picks = np.arange(len(crops)) if args.n <= 0 else np.linspace(0, len(crops) - 1, args.n).round().astype(int)
        out = os.path.join(CACHE, "eval", "sr-x4", domain)
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
    with open(os.path.join(CACHE, "eval", "sr-x4", "set.json"), "w") as f:
        json.dump(described, f, indent=2)


if __name__ == "__main__":
    main()
