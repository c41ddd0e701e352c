#!/usr/bin/env python3
"""Validation curve of palette-jpeg: PSNR-Y gain over the JPEG input against training step, at the SDK's default
sampler (DDIM, trailing spacing, seed 0) at --steps (default 2, the SDK's default until 2026-12-04 and the step count
of the card's curve; the SDK now runs 1), for a series of weight snapshots.

  /usr/bin/python3 training/jpeg_curve.py SNAPSHOT.pt [SNAPSHOT.pt ...] --out curve.json [--n 24] [--quality 10]

Each snapshot is a weights-only checkpoint (training/checkpoints/*.fp16.pt or a run's ema.fp16.pt). Validation crops
(128x128, never trained on) are JPEG-encoded by Pillow as in training; the curve lands in the model card, so a reader
sees where more training is heading.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dktrain.data import load_split  # noqa: E402
from dktrain.degrade import jpeg_roundtrip, to_pm1, to_u8  # noqa: E402
from dktrain.metrics import psnr_y  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from dktrain.schedules import alphas_cumprod  # noqa: E402
from export import load_weights  # noqa: E402


def crops(domain, n):
    hr = load_split(domain, "val")
    return hr[np.linspace(0, len(hr) - 1, n).round().astype(int)] if n and n < len(hr) else hr


@torch.no_grad()
def gain(model, ac, hr_u8, quality, steps, batch=8):
    jpeg_u8 = np.stack([jpeg_roundtrip(np.ascontiguousarray(im), quality) for im in hr_u8])
    outs = []
    for i in range(0, len(hr_u8), batch):
        cond = to_pm1(jpeg_u8[i:i + batch])
        fn = lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), cond).numpy()  # noqa: E731
        outs.append(to_u8(torch.from_numpy(ddim_sample(fn, tuple(cond.shape), ac, steps, prediction="x0",
                                                       noise_kind="alpha-bar", seed=0))))
    out_u8 = np.concatenate(outs)
    return psnr_y(out_u8, hr_u8) - psnr_y(jpeg_u8, hr_u8)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=24, help="validation crops per domain (0 = all)")
    p.add_argument("--quality", default="10")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ac = alphas_cumprod("cosine", 1000)
    data = {d: crops(d, a.n) for d in ("aerial", "photo")}
    rows = []
    for w in a.weights:
        model, st, _ = load_weights("palette-jpeg", w)
        row = {"weights": os.path.basename(w), "step": st.get("step")}
        for q in [int(v) for v in a.quality.split(",")]:
            for d, hr in data.items():
                row[f"gain_q{q}_{d}"] = round(float(gain(model, ac, hr, q, a.steps)), 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
    rows.sort(key=lambda r: r["step"] or 0)
    json.dump({"steps": a.steps, "n": a.n, "rows": rows}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
