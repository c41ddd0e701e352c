#!/usr/bin/env python3
"""Draw unconditional samples from a DDPM run (EMA weights) with DDIM, beside real validation crops, into a PNG grid.

  /usr/bin/python3 training/sample_ddpm.py ddpm-aerial packages/segment/models/ddpm-aerial/samples.png [--steps 50] [--size 128]

Left: 16 samples (4x4, seed 0, DDIM eta 0 with trailing spacing, the SDK's formulae in dktrain/sampling.py);
right: 16 real validation crops of the same size from images the model never trained on.
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dktrain.data import load_split  # noqa: E402
from dktrain.schedules import alphas_cumprod  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from export import load_weights  # noqa: E402


def grid(images, cols=4, pad=2):
    n, h, w, _ = images.shape
    rows = (n + cols - 1) // cols
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = im
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--weights", default=None)
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta: 0 deterministic, 1 = DDPM-like ancestral noise")
    a = p.parse_args()
    torch.set_num_threads(2)
    model, st, _ = load_weights(a.id, a.weights)
    ac = alphas_cumprod(st.get("recipe", {}).get("schedule", "linear"))

    @torch.no_grad()
    def fn(x, t):
        return model(torch.from_numpy(x), torch.from_numpy(t))[0].numpy()

    x = ddim_sample(fn, (16, 3, a.size, a.size), ac, a.steps, prediction="eps", noise_kind="timestep", clip=True, seed=0,
                    eta=a.eta)
    samples = ((np.clip(x, -1, 1) + 1) * 127.5 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
    real = load_split("aerial", "val")
    real = real[:: max(1, len(real) // 16)][:16, : a.size, : a.size]
    left, right = grid(samples), grid(real)
    gap = np.full((left.shape[0], 12, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([left, gap, right], 1)).save(a.out)
    print("wrote", a.out, "step", st.get("step"))


if __name__ == "__main__":
    main()
