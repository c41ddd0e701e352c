#!/usr/bin/env python3
"""Validation curve of palette-jpeg: PSNR-Y gain over the JPEG input against training step, at the SDK's default
sampler (DDIM, trailing spacing, seed 0) at --steps (default 2, the SDK's default until 2026-12-04 and the step count
of the card's curve; the SDK now runs 1), for a series of weight snapshots.

  /usr/bin/python3 training/jpeg_curve.py SNAPSHOT.pt [SNAPSHOT.pt ...] --out curve.json [--n 24] [--quality 10]

Each snapshot is a weights-only checkpoint (training/checkpoints/*.fp16.pt or a run's ema.fp16.pt). Validation crops
(128x128, never trained on) are JPEG-encoded by Pillow as in training; the curve lands in the model card, so a reader
sees where more training is heading.

--qcs also scores each output after projecting its luma onto the JPEG's quantisation constraint set (every 8x8 DCT
coefficient clamped into the interval its quantised value stands for; Zakhor 1992, Yang et al. 1993): the true image
lies in that set, so the projection can only move the luma closer to it (up to rounding to 8 bits). The gain it adds
says how far the network's output strays from what the JPEG file proves.
"""
import argparse
import io
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

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


_DCT = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
                 for u in range(8)])  # orthonormal 8-point DCT-II: JPEG's coefficients are exactly these


def _luma(u8):
    x = u8.astype(np.float64)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]  # JFIF's Y, what the encoder quantised


def _block_dct(y):
    h, w = y.shape
    return _DCT @ (y - 128).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3) @ _DCT.T


def _block_idct(c):
    h, w = c.shape[:2]
    return (_DCT.T @ c @ _DCT).transpose(0, 2, 1, 3).reshape(h * 8, w * 8) + 128


def luma_table(quality):
    """Pillow's luma quantisation table at this quality, 8x8 in natural order."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.array(Image.open(buf).quantization[0], dtype=np.float64).reshape(8, 8)


def project_luma(out_u8, jpeg_u8, table):
    """out_u8 with its luma clamped, coefficient by coefficient, into the quantisation intervals of the JPEG it
    restores (quantised values recovered from the decoded JPEG); chroma untouched (adding the same amount to R, G and
    B moves Y by that amount and leaves Cb and Cr as they were). H and W multiples of 8."""
    k = np.round(_block_dct(_luma(jpeg_u8)) / table)
    y = _luma(out_u8)
    dy = _block_idct(np.clip(_block_dct(y), (k - 0.5) * table, (k + 0.5) * table)) - y
    return np.clip(np.round(out_u8.astype(np.float64) + dy[..., None]), 0, 255).astype(np.uint8)


def jpeg_inputs(hr_u8, quality):
    """The crops JPEG-encoded and decoded by Pillow, as in training."""
    return np.stack([jpeg_roundtrip(np.ascontiguousarray(im), quality) for im in hr_u8])


@torch.no_grad()
def restore(model, ac, jpeg_u8, steps, batch=8):
    """The model's 8-bit restorations of decoded JPEGs (DDIM, trailing spacing, seed 0: the SDK's sampler)."""
    outs = []
    for i in range(0, len(jpeg_u8), batch):
        cond = to_pm1(jpeg_u8[i:i + batch])
        fn = lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), cond).numpy()  # noqa: E731
        outs.append(to_u8(torch.from_numpy(ddim_sample(fn, tuple(cond.shape), ac, steps, prediction="x0",
                                                       noise_kind="alpha-bar", seed=0))))
    return np.concatenate(outs)


def gain(model, ac, hr_u8, quality, steps, batch=8):
    """(gain over the JPEG in dB, the same after the luma projection)."""
    jpeg_u8 = jpeg_inputs(hr_u8, quality)
    out_u8 = restore(model, ac, jpeg_u8, steps, batch)
    base = psnr_y(jpeg_u8, hr_u8)
    table = luma_table(quality)
    projected = np.stack([project_luma(o, j, table) for o, j in zip(out_u8, jpeg_u8)])
    return psnr_y(out_u8, hr_u8) - base, psnr_y(projected, hr_u8) - base


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=24, help="validation crops per domain (0 = all)")
    p.add_argument("--quality", default="10")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--qcs", action="store_true", help="also the gain after the quantisation-constraint projection")
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
                g, g_qcs = gain(model, ac, hr, q, a.steps)
                row[f"gain_q{q}_{d}"] = round(float(g), 3)
                if a.qcs:
                    row[f"gain_q{q}_{d}_qcs"] = round(float(g_qcs), 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
    rows.sort(key=lambda r: r["step"] or 0)
    json.dump({"steps": a.steps, "n": a.n, "rows": rows}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
