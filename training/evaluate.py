#!/usr/bin/env python3
"""Evaluate an SR model against bicubic on held-out crops (Y-channel PSNR / SSIM, 4 px border cropped), with the
numpy DDIM sampler of dktrain/sampling.py (the formulae the SDK implements).

  /usr/bin/python3 training/evaluate.py sr3-x4 --split val --steps 1,10,20 --spacing trailing,leading
  /usr/bin/python3 training/evaluate.py sr3-x4 --split test --steps 10,20 --out /tmp/test.json --grid grid.png
  /usr/bin/python3 training/evaluate.py sr3-x4 --split train --n 48 --crop 96 --steps 1   # gain on seen images
Weights: the cache run's ckpt.pt (EMA) unless --weights names another (e.g. training/checkpoints/sr3-x4.fp16.pt).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dktrain.data import load_split  # noqa: E402
from dktrain.degrade import make_lr, to_pm1, to_u8, upsample_bicubic  # noqa: E402
from dktrain.metrics import psnr_y, ssim_y  # noqa: E402
from dktrain.registry import MODELS  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from dktrain.schedules import alphas_cumprod  # noqa: E402
from export import load_weights  # noqa: E402


def sampling_parts(model_id, model, lr):
    """(network function for the sampler, map from the sampled variable to the image) for an SR model.
    sr3 samples the image itself; srdiff runs its encoder once and samples the residual over the bicubic image."""
    if MODELS[model_id]["diffusion"].get("target") == "residual":
        feats, up = model.encoder(lr)
        fn = lambda x, nl: model.denoiser(torch.from_numpy(x), torch.from_numpy(nl), feats).numpy()  # noqa: E731
        return fn, lambda r: up.numpy() + r
    return (lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), lr).numpy()), (lambda x: x)


def dihedral(x, k, inverse=False):
    """The k-th of the 8 flips/rotations of an NCHW tensor (k = 0 is the identity); inverse=True undoes it."""
    flip, rot = k >= 4, k % 4
    if inverse:
        x = torch.rot90(x, -rot, dims=(2, 3))
        return torch.flip(x, dims=(3,)) if flip else x
    x = torch.flip(x, dims=(3,)) if flip else x
    return torch.rot90(x, rot, dims=(2, 3))


def sample_sr(model_id, model, lr, shape, ac, steps, d, spacing, seed, views=1):
    """One SR sample per LR image, or with views > 1 the mean of that many dihedral views (geometric self-ensemble,
    Lim et al. 2017), each view sampled and mapped back before averaging."""
    acc = None
    n, c, h, w = shape
    for k in range(views):
        lr_k = dihedral(lr, k)
        shp = (n, c, h, w) if k % 2 == 0 else (n, c, w, h)  # odd k: rotated by 90 degrees
        fn, to_image = sampling_parts(model_id, model, lr_k)
        o = ddim_sample(fn, shp, ac, steps, prediction=d["prediction"], noise_kind=d["noiseInput"], clip=d["clipX0"],
                        spacing=spacing, seed=seed)
        o = dihedral(torch.from_numpy(np.ascontiguousarray(to_image(o))), k, inverse=True).numpy()
        acc = o if acc is None else acc + o
    return acc / views


def load_crops(dom, split, n=0, crop=0):
    """The 8-bit HR crops of one domain and split: every n-th for n > 0, centre-cropped to crop px when crop > 0."""
    hr_u8 = load_split(dom, split)
    if n:
        hr_u8 = hr_u8[:: max(1, len(hr_u8) // n)][:n]
    if crop:
        y0, x0 = (hr_u8.shape[1] - crop) // 2, (hr_u8.shape[2] - crop) // 2
        hr_u8 = np.ascontiguousarray(hr_u8[:, y0:y0 + crop, x0:x0 + crop])
    return hr_u8


def score_domain(model_id, model, hr_u8, steps, spacings, batch=8, seed=0, views=1):
    """PSNR-Y / SSIM-Y of bicubic and of DDIM at each step count and spacing on these HR crops.
    Returns (metrics keyed "n", "bicubic_psnr", "ddim{s}_{spacing}_psnr", ..., the first spacing's outputs per step
    count, the LR batch, the bicubic outputs)."""
    d = MODELS[model_id]["diffusion"]
    ac = alphas_cumprod(d["schedule"]["kind"], d["schedule"]["trainSteps"])
    hr = to_pm1(hr_u8)
    lr = make_lr(hr)
    bic = to_u8(upsample_bicubic(lr))
    m = {"n": len(hr_u8), "bicubic_psnr": psnr_y(bic, hr_u8), "bicubic_ssim": ssim_y(bic, hr_u8)}
    by_steps = {}
    for spacing in spacings:
        for s in steps:
            t0 = time.time()
            outs = []
            for i in range(0, len(hr), batch):
                lr_b = lr[i:i + batch]
                with torch.no_grad():
                    outs.append(sample_sr(model_id, model, lr_b, (len(lr_b), 3, hr.shape[2], hr.shape[3]), ac, s, d,
                                          spacing, seed + i, views))
            out_u8 = to_u8(torch.from_numpy(np.concatenate(outs)))
            key = f"ddim{s}_{spacing}"
            m[key + "_psnr"], m[key + "_ssim"] = psnr_y(out_u8, hr_u8), ssim_y(out_u8, hr_u8)
            print(f"{key}: PSNR {m[key + '_psnr']:.3f} (bicubic {m['bicubic_psnr']:.3f}) "
                  f"SSIM {m[key + '_ssim']:.4f} (bicubic {m['bicubic_ssim']:.4f}) [{time.time() - t0:.0f}s]", flush=True)
            by_steps.setdefault(s, out_u8)
    return m, by_steps, lr, bic


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id", choices=sorted(MODELS))
    p.add_argument("--weights", default=None)
    p.add_argument("--split", choices=["train", "val", "test"], default="val",
                   help="train: the 96x96 training patches, to compare the gain on seen and unseen images")
    p.add_argument("--n", type=int, default=0, help="crops per domain (0 = all)")
    p.add_argument("--crop", type=int, default=0, help="centre crop of this size (multiple of 16; 0 = whole crops)")
    p.add_argument("--steps", default="10,20")
    p.add_argument("--spacing", default="trailing")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--views", type=int, default=1, help="geometric self-ensemble: mean over this many flips/rotations")
    p.add_argument("--grid", default=None, help="sample grid PNG (LR | bicubic | fewest | most steps | HR)")
    a = p.parse_args()
    torch.set_num_threads(2)
    model, st, wpath = load_weights(a.id, a.weights)
    history = st.get("history") or []
    # "step" counts the last run segment only; the manifest reports every segment the weights went through.
    res = {"weights": wpath, "step": st.get("step"),
           "total_steps": sum(h.get("steps", 0) for h in history) or st.get("step"),
           "train_minutes": round(st.get("wall", 0) / 60, 1), "split": a.split, "views": a.views}
    grid_rows = []
    for dom in ("aerial", "photo"):
        print(dom, flush=True)
        hr_u8 = load_crops(dom, a.split, a.n, a.crop)
        metrics, by_steps, lr, bic = score_domain(a.id, model, hr_u8, [int(x) for x in a.steps.split(",")],
                                                  a.spacing.split(","), a.batch, a.seed, a.views)
        res.update({f"{dom}_{k}": v for k, v in metrics.items()})
        if a.grid:  # columns: LR (nearest) | bicubic | fewest steps | most steps | HR; 128 px centre crops
            lr_u8 = to_u8(lr)
            cols = [by_steps[min(by_steps)], by_steps[max(by_steps)]]
            h, w = hr_u8.shape[1:3]
            c0, c1 = (h - 128) // 2, (w - 128) // 2
            for i in range(min(2, len(hr_u8))):
                j = i * max(1, len(hr_u8) // 2)
                lr_big = np.asarray(Image.fromarray(lr_u8[j]).resize((w, h), Image.NEAREST))
                row = [lr_big, bic[j]] + [c[j] for c in cols] + [hr_u8[j]]
                grid_rows.append(np.concatenate([r[c0:c0 + 128, c1:c1 + 128] for r in row], axis=1))
    if a.grid and grid_rows:
        Image.fromarray(np.concatenate(grid_rows, axis=0)).save(a.grid)
    print(json.dumps(res, indent=1))
    if a.out:
        json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
