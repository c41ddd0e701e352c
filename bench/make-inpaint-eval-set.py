"""Writes the held-out inpainting evaluation set that bench/inpaint.mjs reads.

Images: N 256x256 crops of each domain's test split (never trained on), spread over the split as
bench/make-sr-eval-set.py --n N picks them (inpainting runs many steps, so not the whole split). Masks: training's
own generator (training/dktrain/masks.py) with a fixed seed,
one box mask and one free-form stroke mask per image, drawn at the scale the model was trained on (shapes sized for
64-pixel crops: boxes of 8-32 px, strokes 2-8 px wide), and one box mask at twice that scale (16-64 px) to show how
the fill holds up on holes larger than any it saw.

Usage: /usr/bin/python3 bench/make-inpaint-eval-set.py [--n 8]
Writes ~/.cache/diffusekit/eval/inpaint/<domain>/<index>_image.png and <index>_<mask kind>.png (white = fill).
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from dktrain.masks import make_mask  # noqa: E402

CACHE = os.environ.get("DIFFUSEKIT_CACHE", os.path.expanduser("~/.cache/diffusekit"))
MASKS = {"box": ("box", 64), "strokes": ("strokes", 64), "box-x2": ("box", 128)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(20240607)
    for domain in ("aerial", "photo"):
        crops = np.load(os.path.join(CACHE, "prepared", f"{domain}_test_c256.npy"))
        picks = np.linspace(0, len(crops) - 1, args.n).round().astype(int)
        out = os.path.join(CACHE, "eval", "inpaint", domain)
        os.makedirs(out, exist_ok=True)
        for i, crop in enumerate(crops[picks]):
            Image.fromarray(crop).save(os.path.join(out, f"{i:02d}_image.png"))
            h, w = crop.shape[:2]
            for name, (kind, size) in MASKS.items():
                mask = make_mask(rng, h, w, kind, size)
                Image.fromarray((mask * 255).astype(np.uint8)).save(os.path.join(out, f"{i:02d}_{name}.png"))
        print(domain, len(picks), "images ->", out)


if __name__ == "__main__":
    main()
