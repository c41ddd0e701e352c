#!/usr/bin/env python3
"""Train the other reference models on CPU, sharing dktrain/unet.py. Resumable: rerun the same command.

  nice -n 10 /usr/bin/python3 training/train.py ddpm-aerial  --minutes 90
  nice -n 10 /usr/bin/python3 training/train.py srdiff-x4    --minutes 90
  nice -n 10 /usr/bin/python3 training/train.py palette-jpeg --minutes 90
(sr3-x4 has its own script, training/train_sr3.py.) State: $DIFFUSEKIT_CACHE/runs/<id>/ (ckpt.pt, log.txt,
losses.jsonl, evals.jsonl). `kill <pid>` checkpoints before exiting. Run one training job at a time: two PyTorch
processes on 2 cores slow each other down many times over.

Recipes (see README.md):
  ddpm-aerial   unconditional DDPM on aerial patches; linear 1e-4..0.02, T=1000, eps, integer timestep input
  srdiff-x4     SRDiff: RRDB encoder(lr) + denoiser of the residual HR - bicubic(lr); cosine T=1000, x0 prediction
                (the denoiser outputs the residual; L1), integer timestep input; encoder trained jointly. SRDiff's
                own eps prediction was measured first and failed here: see packages/sr3/models/srdiff-x4/README.md
  palette-jpeg  Palette JPEG restoration: cond = PIL JPEG at quality U[5, 40]; cosine T=1000, x0 prediction
                (output = cond + UNet), continuous alpha-bar input sampled between adjacent steps (Palette)
  palette-inpaint  Palette inpainting: masks from dktrain/masks.py (boxes or free-form strokes, 3-60 % of the crop);
                cond = the image with the hole filled inside the graph (0.1: 0, mid-grey; 0.2: dktrain/fill.py's
                membrane fill, so the output is that fill plus a learnt residual), plus the mask as a channel;
                x_t noised everywhere (the SDK re-imposes the noised known pixels, RePaint); L1 on x0 inside the
                hole only; cosine T=1000, x0 prediction, continuous alpha-bar input as palette-jpeg
"""
import argparse
import json
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dktrain import CACHE  # noqa: E402
from dktrain.optim import LossLog, optimise  # noqa: E402
from dktrain.runstate import (cpu_copy, move_run, pick_device, restore_run, run_logger, save_fp16,  # noqa: E402
                              add_refine_argument, saved_refine, add_high_noise_arguments,
                              high_noise_record)
from dktrain.data import PatchSampler, load_split  # noqa: E402
from dktrain.fill import membrane_fill  # noqa: E402
from dktrain.degrade import jpeg_roundtrip, make_lr, to_pm1, to_u8, upsample_bicubic  # noqa: E402
from dktrain.masks import mask_batch  # noqa: E402
from dktrain.metrics import psnr_masked, psnr_y  # noqa: E402
from dktrain.models import DDPM, Palette, SRDiffDenoiser, SRDiffEncoder  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from dktrain.schedules import alphas_cumprod, draw_timesteps  # noqa: E402

INPAINT_SHAPE_SIZE = 64  # palette-inpaint: holes are drawn at the scale of the 64-pixel training crops
RESIDUAL_SCALE = 1.0  # srdiff: the diffused variable is HR - bicubic(lr) (image = upsampled + residual)


class SRDiff(nn.Module):
    """Training wrapper holding both exported graphs."""

    def __init__(self, feat=32, base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2, refine=0):
        super().__init__()
        self.encoder = SRDiffEncoder(scale=4, feat=feat)
        self.denoiser = SRDiffDenoiser(feat=feat, base=base, mults=mults, blocks=blocks, unshuffle=unshuffle,
                                       refine=refine)


RECIPES = {
    "ddpm-aerial": dict(domains=("aerial",), schedule="linear", prediction="eps", noise="timestep",
                        config=dict(feature_names=("dec0", "dec1", "dec2"), base=40, mults=(1, 2, 2, 2), blocks=1,
                                    unshuffle=2)),
    "srdiff-x4": dict(domains=("aerial", "photo"), schedule="cosine", prediction="x0", noise="timestep",
                      config=dict(feat=32, base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2)),
    "palette-jpeg": dict(domains=("aerial", "photo"), schedule="cosine", prediction="x0", noise="alpha-bar",
                         config=dict(prediction="x0", inpaint=False, base=40, mults=(1, 2, 2, 2), blocks=1,
                                     unshuffle=2)),
    "palette-inpaint": dict(domains=("aerial", "photo"), schedule="cosine", prediction="x0", noise="alpha-bar",
                            config=dict(prediction="x0", inpaint=True, base=40, mults=(1, 2, 2, 2), blocks=1,
                                        unshuffle=2, fill="membrane")),
}


def build(mid, cfg):
    return {"ddpm-aerial": lambda: DDPM(**cfg), "srdiff-x4": lambda: SRDiff(**cfg),
            "palette-jpeg": lambda: Palette(**cfg), "palette-inpaint": lambda: Palette(**cfg)}[mid]()


def jpeg_batch(u8, rng, qmin=5, qmax=40):
    return np.stack([jpeg_roundtrip(np.ascontiguousarray(im), rng.integers(qmin, qmax + 1)) for im in u8])


def loss_for(mid, model, u8, ac, rng, high_noise_frac=0.0, high_from=None):
    dev = next(model.parameters()).device
    hr = to_pm1(u8).to(dev)
    n = len(hr)
    t = draw_timesteps(rng, n, len(ac), high_noise_frac, high_from)
    eps = torch.randn_like(hr)
    if mid in ("palette-jpeg", "palette-inpaint"):
        ac_prev = np.concatenate([[1.0], ac[:-1]])
        g = torch.from_numpy(rng.uniform(ac[t], ac_prev[t])).float().to(dev)  # continuous alpha-bar (Palette)
        x = g.sqrt()[:, None, None, None] * hr + (1 - g).sqrt()[:, None, None, None] * eps
        if mid == "palette-jpeg":
            cond = to_pm1(jpeg_batch(u8, rng)).to(dev)
            return (model(x, g, cond) - hr).abs().mean()
        mask = torch.from_numpy(mask_batch(rng, n, hr.shape[2], hr.shape[3], size=INPAINT_SHAPE_SIZE)).to(dev)
        hole_values = mask.sum() * hr.shape[1]
        return ((model(x, g, hr, mask) - hr).abs() * mask).sum() / hole_values
    a_t = torch.from_numpy(ac[t]).float().to(dev)[:, None, None, None]
    tt = torch.from_numpy(t).float().to(dev)
    if mid == "ddpm-aerial":
        x = a_t.sqrt() * hr + (1 - a_t).sqrt() * eps
        return ((model(x, tt)[0] - eps) ** 2).mean()
    lr = make_lr(hr)
    feats, up = model.encoder(lr)
    r = RESIDUAL_SCALE * (hr - up)
    x = a_t.sqrt() * r + (1 - a_t).sqrt() * eps
    if RECIPES[mid]["prediction"] == "x0":
        return (model.denoiser(x, tt, feats) - r).abs().mean()
    return ((model.denoiser(x, tt, feats) - eps) ** 2).mean()


@torch.no_grad()
def quick_eval(mid, model, ac, n=12, steps=10):
    """PSNR-Y of the model vs its baseline (bicubic / the JPEG input) on validation crops; none for the DDPM.
    palette-inpaint: PSNR (RGB) inside the hole of the model and of the mean fill (each channel's mean over the
    known pixels) and of the graph's own membrane fill, fixed masks of seed 0 with shapes of the training crop's
    scale."""
    if mid == "ddpm-aerial":
        return {}
    model.eval()
    res, rng = {}, np.random.default_rng(0)
    for dom in ("aerial", "photo"):
        hr_u8 = load_split(dom, "val")
        hr_u8 = hr_u8[:: max(1, len(hr_u8) // n)][:n]
        hr = to_pm1(hr_u8)
        if mid == "palette-inpaint":
            mask = mask_batch(rng, len(hr), hr.shape[2], hr.shape[3], size=INPAINT_SHAPE_SIZE)
            mt = torch.from_numpy(mask)
            fn = lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), hr, mt).numpy()  # noqa: E731
            out = ddim_sample(fn, tuple(hr.shape), ac, steps, prediction="x0", noise_kind="alpha-bar",
                              known=(hr.numpy(), mask))
            known = 1 - mt
            mean = (hr * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
            filled = hr * known + mean * mt
            res[f"meanfill_{dom}"] = psnr_masked(to_u8(filled), hr_u8, mask[:, 0])
            res[f"membrane_{dom}"] = psnr_masked(to_u8(membrane_fill(hr, mt)), hr_u8, mask[:, 0])
            out2 = ddim_sample(fn, tuple(hr.shape), ac, 2, prediction="x0", noise_kind="alpha-bar",
                               known=(hr.numpy(), mask))
            res[f"ddim2_{dom}"] = psnr_masked(to_u8(torch.from_numpy(out2)), hr_u8, mask[:, 0])
            res[f"ddim{steps}_{dom}"] = psnr_masked(to_u8(torch.from_numpy(out)), hr_u8, mask[:, 0])
            continue
        if mid == "palette-jpeg":
            cond = to_pm1(jpeg_batch(hr_u8, rng, 10, 10))
            base = to_u8(cond)
            fn = lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), cond).numpy()  # noqa: E731
            out = ddim_sample(fn, tuple(hr.shape), ac, steps, prediction="x0", noise_kind="alpha-bar")
            res[f"jpeg_q10_{dom}"] = psnr_y(base, hr_u8)
            # the SDK's default: 2 steps
            out2 = ddim_sample(fn, tuple(hr.shape), ac, 2, prediction="x0", noise_kind="alpha-bar")
            res[f"ddim2_{dom}"] = psnr_y(to_u8(torch.from_numpy(out2)), hr_u8)
        else:
            lr = make_lr(hr)
            feats, up = model.encoder(lr)
            fn = lambda x, nl: model.denoiser(torch.from_numpy(x), torch.from_numpy(nl), feats).numpy()  # noqa
            r = ddim_sample(fn, tuple(hr.shape), ac, steps, prediction=RECIPES[mid]["prediction"], noise_kind="timestep",
                            clip=False)
            out = (up + torch.from_numpy(r) / RESIDUAL_SCALE).numpy()
            res[f"bicubic_{dom}"] = psnr_y(to_u8(up), hr_u8)
        res[f"ddim{steps}_{dom}"] = psnr_y(to_u8(torch.from_numpy(out)), hr_u8)
    model.train()
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id", choices=sorted(RECIPES))
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--ckpt-min", type=float, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda (the quick evaluation always runs on the CPU)")
    p.add_argument("--reset-head", default="", metavar="WHY",
                   help="with --init: zero the UNet's last conv, so the model starts at its graph's baseline "
                        "(e.g. after the recipe changed what the output is a residual over); WHY is recorded in history")
    p.add_argument("--hardware", default="2 CPU threads (Debian PyTorch 1.13)", help="recorded in the run history")
    p.add_argument("--init", default=None, help="start a new run from a weights-only checkpoint (training/checkpoints/)")
    add_high_noise_arguments(p)
    add_refine_argument(p)
    p.add_argument("--aerial-weight", type=float, default=0.0,
                   help="share of each batch drawn from aerial crops (default: an equal share per domain; recorded "
                        "in history)")
    a = p.parse_args()
    dev = pick_device(a.device)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    rec = RECIPES[a.id]
    run_dir = os.path.join(CACHE, "runs", a.id)
    ckpt_path = os.path.join(run_dir, "ckpt.pt")
    say = run_logger(run_dir)

    if a.refine is None:
        a.refine = saved_refine(ckpt_path, a.init)
    cfg = {**rec["config"], "refine": a.refine} if a.refine else rec["config"]
    model, ema = build(a.id, cfg), build(a.id, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    step, wall, history, resumed = restore_run(ckpt_path, model, ema, opt, a.init, say)
    head_reset = ""
    if not resumed:
        if a.init and a.reset_head:
            head = model.unet.cout if hasattr(model, "unet") else model.denoiser.unet.cout
            torch.nn.init.zeros_(head.weight)
            torch.nn.init.zeros_(head.bias)
            head_reset = a.reset_head
            say("output layer zeroed:", a.reset_head)
        ema.load_state_dict(model.state_dict())
        say(f"new run {a.id}: {sum(p.numel() for p in model.parameters())} params, {rec}, {vars(a)}")
    move_run(dev, model, ema, opt)
    ac = alphas_cumprod(rec["schedule"])
    weights = None
    if a.aerial_weight and "aerial" in rec["domains"] and len(rec["domains"]) > 1:
        rest = (1 - a.aerial_weight) / (len(rec["domains"]) - 1)
        weights = [a.aerial_weight if d == "aerial" else rest for d in rec["domains"]]
    sampler = PatchSampler(domains=rec["domains"], weights=weights, crop=a.crop, seed=1000 + step)
    rng = np.random.default_rng(2000 + step)
    torch.manual_seed(3000 + step)
    losses = LossLog(os.path.join(run_dir, "losses.jsonl"), say)
    evals_f = open(os.path.join(run_dir, "evals.jsonl"), "a")
    t_start = t_ck = time.time()
    first_step = step

    def save():
        nonlocal t_ck
        this_run = {"hardware": a.hardware, "steps": step - first_step, "batch": a.batch,
                    "minutes": round((time.time() - t_start) / 60, 1), "lr": a.lr,
                    "crop": a.crop}
        high_noise = high_noise_record(a, len(ac))
        if high_noise:
            this_run["high_noise"] = high_noise
        if head_reset:
            this_run["output_layer_zeroed_at_start"] = head_reset
        if weights:
            this_run["domain_weights"] = dict(zip(rec["domains"], weights))
        st = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
              "wall": wall + time.time() - t_start, "config": cfg, "history": history + [this_run],
              "recipe": {k: v for k, v in rec.items() if k != "config"}}
        torch.save(st, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        save_fp16(os.path.join(run_dir, "ema.fp16.pt"), ema, cfg, step, st["wall"], st["history"], rec["schedule"])
        t_ck = time.time()
        r = quick_eval(a.id, cpu_copy(ema), ac)
        r.update(step=step, wall=st["wall"])
        evals_f.write(json.dumps(r) + "\n")
        evals_f.flush()
        say("eval", json.dumps(r))

    while time.time() - t_start < a.minutes * 60 and not stop["now"]:
        loss = loss_for(a.id, model, sampler.batch(a.batch), ac, rng, a.high_noise_frac, a.high_from)
        step = optimise(model, ema, opt, loss, step, a.lr, a.warmup, a.ema)
        losses.add(step, loss.item(), wall + time.time() - t_start)
        if time.time() - t_ck > a.ckpt_min * 60:
            save()
    save()
    say("done", step)


if __name__ == "__main__":
    main()
