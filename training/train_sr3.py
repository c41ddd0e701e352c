#!/usr/bin/env python3
"""Train sr3-x4 (SR3-style 4x super-resolution) on CPU. Resumable: rerun the same command to continue.

  nice -n 10 /usr/bin/python3 training/train_sr3.py --minutes 90            # new run or resume (same --run)
  nice -n 10 /usr/bin/python3 training/train_sr3.py --minutes 90 --init training/checkpoints/sr3-x4.fp16.pt

State lives in $DIFFUSEKIT_CACHE/runs/<run>/: ckpt.pt (full state, rewritten every --ckpt-min minutes), log.txt,
losses.jsonl, evals.jsonl (quick validation PSNR at every checkpoint, EMA weights, DDIM 10 trailing steps).
"""
import argparse
import json
import os
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dktrain import CACHE  # noqa: E402
from dktrain.optim import LossLog, optimise  # noqa: E402
from dktrain.runstate import (cpu_copy, move_run, pick_device, restore_run, run_logger, save_fp16,  # noqa: E402
                              add_refine_argument, saved_refine, add_high_noise_arguments,
                              high_noise_record)
from dktrain.data import PatchSampler, load_split  # noqa: E402
from dktrain.degrade import make_lr, to_pm1, to_u8, upsample_bicubic  # noqa: E402
from dktrain.metrics import psnr_y  # noqa: E402
from dktrain.models import SR3  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from dktrain.schedules import alphas_cumprod, draw_timesteps  # noqa: E402


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--run", default="sr3-x4")
    p.add_argument("--minutes", type=float, default=60, help="wall-clock budget of this invocation")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--loss", choices=["l1", "l2"], default="l1")
    p.add_argument("--prediction", choices=["x0", "eps", "v"], default="x0")
    p.add_argument("--schedule", choices=["cosine", "linear"], default="cosine")
    p.add_argument("--ckpt-min", type=float, default=10)
    p.add_argument("--eval-n", type=int, default=16, help="validation crops per domain for the quick eval")
    p.add_argument("--init", default=None, help="start from a weights-only checkpoint (e.g. training/checkpoints/)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda (the quick evaluation always runs on the CPU)")
    p.add_argument("--hardware", default="2 CPU threads (Debian PyTorch 1.13)", help="recorded in the run history")
    p.add_argument("--aerial-weight", type=float, default=0.5,
                   help="share of each batch drawn from aerial crops, the rest photo (recorded in history)")
    add_high_noise_arguments(p)
    add_refine_argument(p)
    p.add_argument("--eval-steps", default="1,10", help="DDIM step counts of the quick validation evaluation")
    return p.parse_args()


def model_config(a):
    cfg = dict(scale=4, prediction=a.prediction, base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2)
    return {**cfg, "refine": a.refine} if a.refine else cfg


def target_of(a, hr, eps, g):
    g = g[:, None, None, None]
    if a.prediction == "x0":
        return hr
    if a.prediction == "eps":
        return eps
    return g * eps - torch.sqrt(1 - g ** 2) * hr  # v


@torch.no_grad()
def quick_eval(model, ac, prediction, n, steps=(10,), spacing="trailing", seed=0):
    model.eval()
    res = {}
    for dom in ("aerial", "photo"):
        hr_u8 = load_split(dom, "val")[:: max(1, len(load_split(dom, "val")) // n)][:n]
        hr = to_pm1(hr_u8)
        lr = make_lr(hr)
        res[f"bicubic_{dom}"] = psnr_y(to_u8(upsample_bicubic(lr)), hr_u8)
        for s in steps:
            fn = lambda x, nl: model(torch.from_numpy(x), torch.from_numpy(nl), lr).numpy()  # noqa: E731
            out = ddim_sample(fn, tuple(hr.shape), ac, s, prediction=prediction, spacing=spacing, seed=seed)
            res[f"ddim{s}_{dom}"] = psnr_y(to_u8(torch.from_numpy(out)), hr_u8)
    model.train()
    return res


def main():
    a = parse()
    dev = pick_device(a.device)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))  # kill <pid>: checkpoint, then exit
    run_dir = os.path.join(CACHE, "runs", a.run)
    ckpt_path = os.path.join(run_dir, "ckpt.pt")
    say = run_logger(run_dir)

    if a.refine is None:
        a.refine = saved_refine(ckpt_path, a.init)
    cfg = model_config(a)
    model = SR3(**cfg)
    ema = SR3(**cfg)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    step, wall, history, resumed = restore_run(ckpt_path, model, ema, opt, a.init, say)
    if not resumed:
        ema.load_state_dict(model.state_dict())
        say(f"new run {a.run}: {sum(p.numel() for p in model.parameters())} params, config {cfg}, args {vars(a)}")
    move_run(dev, model, ema, opt)

    ac = alphas_cumprod(a.schedule)
    sqrt_ac = np.sqrt(ac)
    sqrt_ac_prev = np.concatenate([[1.0], sqrt_ac[:-1]])
    sampler = PatchSampler(weights=[a.aerial_weight, 1 - a.aerial_weight], crop=a.crop, seed=1000 + step)
    rng = np.random.default_rng(2000 + step)
    torch.manual_seed(3000 + step)

    losses = LossLog(os.path.join(run_dir, "losses.jsonl"), say)
    evals_f = open(os.path.join(run_dir, "evals.jsonl"), "a")
    t_start = time.time()
    t_last_ckpt = time.time()
    first_step = step

    def save():
        nonlocal t_last_ckpt
        this_run = {"hardware": a.hardware, "steps": step - first_step, "batch": a.batch,
                    "minutes": round((time.time() - t_start) / 60, 1),
                    "crop": a.crop}
        if a.aerial_weight != 0.5:
            this_run["domain_weights"] = {"aerial": a.aerial_weight, "photo": 1 - a.aerial_weight}
        high_noise = high_noise_record(a, len(ac))
        if high_noise:
            this_run["high_noise"] = high_noise
        if a.loss != "l1":
            this_run["loss"] = a.loss
        st = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
              "wall": wall + (time.time() - t_start), "config": cfg, "args": vars(a), "schedule": a.schedule,
              "history": history + [this_run]}
        torch.save(st, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        save_fp16(os.path.join(run_dir, "ema.fp16.pt"), ema, cfg, step, st["wall"], st["history"], a.schedule)
        t_last_ckpt = time.time()
        r = quick_eval(cpu_copy(ema), ac, a.prediction, a.eval_n, steps=tuple(int(x) for x in a.eval_steps.split(",")))
        r.update(step=step, wall=st["wall"])
        evals_f.write(json.dumps(r) + "\n")
        evals_f.flush()
        say("eval", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}))

    while time.time() - t_start < a.minutes * 60 and not stop["now"]:
        hr = to_pm1(sampler.batch(a.batch)).to(dev)
        lr = make_lr(hr)
        t = draw_timesteps(rng, a.batch, len(ac), a.high_noise_frac, a.high_from)
        g = torch.from_numpy(rng.uniform(sqrt_ac[t], sqrt_ac_prev[t])).float().to(dev)  # SR3: sqrt(alpha_bar)
        eps = torch.randn_like(hr)
        x = g[:, None, None, None] * hr + torch.sqrt(1 - g[:, None, None, None] ** 2) * eps
        out = model(x, g, lr)
        tgt = target_of(a, hr, eps, g)
        loss = (out - tgt).abs().mean() if a.loss == "l1" else ((out - tgt) ** 2).mean()
        step = optimise(model, ema, opt, loss, step, a.lr, a.warmup, a.ema)
        losses.add(step, loss.item(), wall + time.time() - t_start)
        if time.time() - t_last_ckpt > a.ckpt_min * 60:
            save()
    save()
    say("done", step)


if __name__ == "__main__":
    main()
