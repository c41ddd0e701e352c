#!/usr/bin/env python3
"""Draw the loss curve (and validation PSNR gain over the baseline: bicubic, or the JPEG input) of a run into a PNG, without matplotlib.

  /usr/bin/python3 training/card.py sr3-x4 packages/sr3/models/sr3-x4/loss.png
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dktrain import CACHE  # noqa: E402


def plot(ax_box, draw, series, title, logy=False, zero_line=False, xlabel="step", ref=None, marks=False):
    """series: [(xs, ys, colour)], drawn on one shared y range; ref: a horizontal reference line (black) at that y;
    marks: a dot and the value at every point (for a few measured points rather than a dense log)."""
    x0, y0, x1, y1 = ax_box
    draw.rectangle(ax_box, outline="black")
    draw.text((x0 + 4, y0 - 14), title, fill="black")
    series = [(np.asarray(xs, np.float64), np.asarray(ys, np.float64), c) for xs, ys, c in series if len(xs) >= 2]
    if not series:
        return
    tr = (lambda v: np.log10(v)) if logy else (lambda v: v)
    allv = np.concatenate([tr(ys) for _, ys, _ in series])
    lo, hi = (allv.min(), allv.max()) if marks else (np.percentile(allv, 1), np.percentile(allv, 99))
    if zero_line:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if ref is not None:
        lo, hi = min(lo, ref), max(hi, ref)
    if hi <= lo:
        hi = lo + 1e-6
    if marks:  # room for the value labels, and a reference line at the edge stays visible
        pad = 0.1 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    xmin = min(xs.min() for xs, _, _ in series)
    xmax = max(xs.max() for xs, _, _ in series)
    fy = lambda v: y1 - (np.clip(v, lo, hi) - lo) / (hi - lo) * (y1 - y0)  # noqa: E731
    if zero_line:
        draw.line([(x0, float(fy(0.0))), (x1, float(fy(0.0)))], fill="gray")
    if ref is not None:
        draw.line([(x0, float(fy(ref))), (x1, float(fy(ref)))], fill="black")
        draw.text((x1 - 70, float(fy(ref)) + 2), f"goal {ref:+.2f}", fill="black")
    for xs, ys, col in series:
        px = x0 + (xs - xmin) / max(xmax - xmin, 1) * (x1 - x0)
        py = fy(tr(ys))
        draw.line(list(zip(px.tolist(), py.tolist())), fill=col, width=2)
        if marks:
            for u, v in zip(px.tolist(), py.tolist()):
                draw.ellipse((u - 3, v - 3, u + 3, v + 3), fill=col)
            for u, v, y in zip(px.tolist(), py.tolist(), ys.tolist()):
                draw.text((min(u + 4, x1 - 36), v - 13), f"{y:+.2f}", fill=col)
    fmt = (lambda v: f"{10 ** v:.4f}") if logy else (lambda v: f"{v:+.2f}")
    draw.text((x0 + 4, y0 + 2), fmt(hi), fill="gray")
    draw.text((x0 + 4, y1 - 12), fmt(lo), fill="gray")
    draw.text((x1 - 120, y1 + 2), f"{xlabel} {int(xmax)}", fill="gray")


def main():
    run, out = sys.argv[1], sys.argv[2]
    d = os.path.join(CACHE, "runs", run)
    losses = [json.loads(line) for line in open(os.path.join(d, "losses.jsonl"))]
    evals = [json.loads(line) for line in open(os.path.join(d, "evals.jsonl"))] if os.path.exists(
        os.path.join(d, "evals.jsonl")) else []
    # An unconditional DDPM has no validation metric against a baseline: only the loss panel then.
    evals = [e for e in evals if any(k.startswith("ddim10_") for k in e)]
    img = Image.new("RGB", (900 if evals else 470, 420), "white")
    dr = ImageDraw.Draw(img)
    # smooth the loss with a moving average over 10 log points
    ls = np.array([r["loss"] for r in losses])
    k = min(10, len(ls))
    sm = np.convolve(ls, np.ones(k) / k, mode="valid") if k else ls
    plot((40, 30, 440, 380), dr, [([r["step"] for r in losses][k - 1:], sm, "blue")],
         f"{run}: training loss (moving average)", logy=True)
    if evals:
        st = [e["step"] for e in evals]
        # The baseline each model must beat: bicubic for super-resolution, the JPEG input (quality 10) for restoration,
        # the mean fill for inpainting (PSNR inside the hole).
        base, label, metric = next(((k, lab, m) for k, lab, m in (("jpeg_q10", "the JPEG (q10)", "PSNR-Y"),
                                                                  ("meanfill", "mean fill", "hole PSNR"))
                                    if f"{k}_aerial" in evals[0]), ("bicubic", "bicubic", "PSNR-Y"))
        ser = [(st, [e[f"ddim10_{dom}"] - e[f"{base}_{dom}"] for e in evals], col)
               for dom, col in (("aerial", "green"), ("photo", "red")) if f"ddim10_{dom}" in evals[0]]
        plot((490, 30, 880, 380), dr, ser, f"val {metric} - {label}, dB (DDIM 10): green aerial, red photo",
             zero_line=True)
    img.save(out)


if __name__ == "__main__":
    main()
