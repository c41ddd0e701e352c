#!/usr/bin/env python3
"""Where a model's training is heading against its goal: the PSNR-Y gain over its baseline at the SDK's default
(DDIM 1 step, trailing, seed 0) against the training it has had, for every committed snapshot of its checkpoint and any
further snapshots. The baseline is bicubic for the SR models (sr3-x4, srdiff-x4) and the JPEG input at --quality
(default 10, Pillow's encoder as in training) for palette-jpeg.

  /usr/bin/python3 training/goal_curve.py srdiff-x4 --git --split val,test --out packages/sr3/models/srdiff-x4/curve.json \\
      --png packages/sr3/models/srdiff-x4/curve.png [~/.cache/diffusekit/runs/srdiff-x4/ema.fp16.pt ...]
  /usr/bin/python3 training/goal_curve.py palette-jpeg --git --goal 1.5 --out packages/palette/models/palette-jpeg/curve.json \\
      --png packages/palette/models/palette-jpeg/curve.png

--git takes every version of training/checkpoints/<id>.fp16.pt in the history of HEAD. Training is counted from each
snapshot's own history (segments: steps x batch x crop^2), in megapixels of HR crops seen, so segments of batch 64 at
64 px and batch 8 at 96 px share one axis. Results are cached in --out by the snapshot's sha256: a re-run scores
only new snapshots. "heading" fits the gain against log10(MP) on each split and says what the test split's remaining
gap would take at that rate (more MP, and minutes at the latest GPU and CPU segments' throughput): an extrapolation,
not a measurement, and a lower bound while the curves keep flattening.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from card import plot  # noqa: E402
from dktrain.metrics import psnr_y, ssim_y  # noqa: E402
from dktrain.schedules import alphas_cumprod  # noqa: E402
from evaluate import load_crops, score_domain  # noqa: E402
from export import load_weights  # noqa: E402
from jpeg_curve import jpeg_inputs, restore  # noqa: E402

DOMAINS = (("aerial", "green"), ("photo", "red"))


def baseline_of(model_id, quality):
    """(key used in the result, words for the figure) of the baseline the model's goal is measured against."""
    return ("jpeg", f"the JPEG at quality {quality}") if model_id == "palette-jpeg" else ("bicubic", "bicubic")


def score(model_id, model, hr_u8, quality):
    """(PSNR-Y, baseline PSNR-Y, SSIM-Y, baseline SSIM-Y) at the 1-step default on these HR crops."""
    if model_id == "palette-jpeg":
        jpeg_u8 = jpeg_inputs(hr_u8, quality)
        out_u8 = restore(model, alphas_cumprod("cosine", 1000), jpeg_u8, 1)
        return psnr_y(out_u8, hr_u8), psnr_y(jpeg_u8, hr_u8), ssim_y(out_u8, hr_u8), ssim_y(jpeg_u8, hr_u8)
    m, _, _, _ = score_domain(model_id, model, hr_u8, [1], ["trailing"])
    return m["ddim1_trailing_psnr"], m["bicubic_psnr"], m["ddim1_trailing_ssim"], m["bicubic_ssim"]


def git_snapshots(model_id, tmp):
    """(label, path) for every committed version of the model's checkpoint, oldest first."""
    rel = f"training/checkpoints/{model_id}.fp16.pt"
    revs = subprocess.run(["git", "log", "--reverse", "--format=%h %ad", "--date=short", "--", rel], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout.split("\n")
    out = []
    for line in filter(None, revs):
        rev, date = line.split()
        path = os.path.join(tmp, f"{rev}.pt")
        with open(path, "wb") as f:
            f.write(subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=REPO, capture_output=True, check=True).stdout)
        out.append((f"{rev} ({date})", path))
    return out


def history_of(path):
    return torch.load(path, map_location="cpu").get("history") or []


def recovered_history(path, histories):
    """The oldest checkpoints predate the history field: their one segment is the first segment of a later
    snapshot's history with the same step count."""
    step = torch.load(path, map_location="cpu").get("step")
    for h in histories:
        if h and h[0]["steps"] == step:
            return h[:1]
    raise SystemExit(f"{path}: no training history, and no later snapshot starts with a {step}-step segment")


def training_seen(history):
    """Cumulative steps, crops and HR megapixels of every segment, and the last segment's throughput."""
    steps = crops = mp = 0.0
    for h in history:
        c = h["steps"] * h["batch"]
        steps, crops, mp = steps + h["steps"], crops + c, mp + c * h.get("crop", 64) ** 2 / 1e6
    last = history[-1]
    last_mp = last["steps"] * last["batch"] * last.get("crop", 64) ** 2 / 1e6
    return {"steps": int(steps), "crops": int(crops), "megapixels": round(mp, 1), "last_segment_mp": round(last_mp, 1),
            "last_segment_minutes": last.get("minutes"), "last_segment_hardware": last.get("hardware")}


def throughput(history):
    """HR megapixels per minute of the latest GPU segment and the latest CPU segment of a history."""
    rate = {}
    for h in history:
        if h.get("minutes"):
            kind = "gpu" if "NVIDIA" in h.get("hardware", "") else "cpu"
            rate[kind] = {"mp_per_minute": round(h["steps"] * h["batch"] * h.get("crop", 64) ** 2 / 1e6 / h["minutes"], 1),
                          "hardware": h.get("hardware")}
    return rate


def heading(points, splits, goal):
    """Least-squares line of gain against log10(MP) per split and domain, and what the test gap would take if the
    gain keeps rising at that split's rate: more MP of training, and the minutes at the last snapshot's GPU and CPU
    throughput. Gains have flattened with training so far, so these are lower bounds on the effort."""
    last = points[-1]
    lx = np.log10([q["megapixels"] for q in points])
    rates = last["throughput"]
    out = {"throughput": rates, "fits": {}}
    for s in splits:
        for dom, _ in DOMAINS:
            b, _ = np.polyfit(lx, [q[s][f"{dom}_gain"] for q in points], 1)
            gap = goal - last["test"][f"{dom}_gain"]
            f = {"db_per_decade": round(float(b), 3), "test_gap_db": round(gap, 3)}
            if gap > 0 and b > 0:
                more = last["megapixels"] * (10 ** (gap / b) - 1)
                f["more_mp"] = float(f"{more:.3g}")
                f.update({f"{k}_minutes": float(f"{more / r['mp_per_minute']:.3g}") for k, r in rates.items()})
            out["fits"][f"{s}/{dom}"] = f
    return out


def draw(points, splits, goal, title, baseline, path):
    """One panel per domain: the gain on each split against training seen, and the goal line."""
    colours = {"val": "darkorange", "test": "purple"}
    img = Image.new("RGB", (470 * len(DOMAINS), 430), "white")
    dr = ImageDraw.Draw(img)
    for i, (dom, _) in enumerate(DOMAINS):
        x0 = 40 + 470 * i
        ser = [([p["megapixels"] for p in points], [p[s][f"{dom}_gain"] for p in points], colours.get(s, "gray"))
               for s in splits]
        plot((x0, 30, x0 + 400, 380), dr, ser, f"{title} {dom}: PSNR-Y gain over {baseline}, dB, 1 step",
             xlabel="MP", ref=goal, marks=True)
    dr.text((40, 392), f"x: training seen, megapixels of HR crops (all segments), {points[0]['megapixels']:.0f} to "
            f"{points[-1]['megapixels']:.0f}", fill="black")
    dr.text((40, 408), "orange: validation split, purple: test split, black: the goal on the test split",
            fill="black")
    img.save(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id")
    p.add_argument("snapshots", nargs="*", help="further weights files (label=path or path)")
    p.add_argument("--git", action="store_true", help="every committed version of training/checkpoints/<id>.fp16.pt")
    p.add_argument("--split", default="val,test")
    p.add_argument("--goal", type=float, default=1.0, help="gain over the baseline the test split must reach (dB)")
    p.add_argument("--quality", type=int, default=10, help="palette-jpeg: the JPEG quality of the goal")
    p.add_argument("--out", required=True)
    p.add_argument("--png", default=None)
    p.add_argument("--drop-missing", action="store_true",
                   help="leave out points cached in --out whose files are not given again (by default they stay: a "
                        "snapshot measured on another machine keeps its place in the curve)")
    a = p.parse_intermixed_args()  # snapshots may follow the options
    torch.set_num_threads(2)
    splits = a.split.split(",")
    base_key, base_words = baseline_of(a.id, a.quality)
    cache = {r["sha256"]: r for r in (json.load(open(a.out))["points"] if os.path.exists(a.out) else [])}
    crops = {(dom, s): load_crops(dom, s) for dom, _ in DOMAINS for s in splits}
    with tempfile.TemporaryDirectory() as tmp:
        snaps = git_snapshots(a.id, tmp) if a.git else []
        snaps += [tuple(s.split("=", 1)) if "=" in s else (os.path.basename(s), s) for s in a.snapshots]
        points = []
        histories = [history_of(path) for _, path in snaps]
        for (label, path), hist in zip(snaps, histories):
            sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
            if not hist:
                hist = recovered_history(path, histories)
            pt = {"label": label, "sha256": sha, **training_seen(hist), "throughput": throughput(hist)}
            if sha in cache and all(s in cache[sha] for s in splits):
                points.append({**pt, **{s: cache[sha][s] for s in splits}})
                continue
            model, _, _ = load_weights(a.id, path)
            for s in splits:
                pt[s] = {}
                for dom, _ in DOMAINS:
                    print(f"{label} {s} {dom}", flush=True)
                    psnr, base_psnr, ssim, base_ssim = score(a.id, model, crops[(dom, s)], a.quality)
                    pt[s][f"{dom}_psnr"] = round(psnr, 3)
                    pt[s][f"{dom}_gain"] = round(psnr - base_psnr, 3)
                    pt[s][f"{dom}_ssim"] = round(ssim, 4)
                    pt[s][f"{dom}_{base_key}_ssim"] = round(base_ssim, 4)
            points.append(pt)
    if not a.drop_missing:
        given = {q["sha256"] for q in points}
        points += [r for sha, r in cache.items() if sha not in given and all(s in r for s in splits)]
    points.sort(key=lambda q: q["megapixels"])
    res = {"model": a.id, "sampler": "DDIM 1 step, trailing, seed 0", "baseline": base_words,
           "goal_test_gain_db": a.goal, "points": points}
    if len(points) >= 3 and "test" in splits:
        res["heading"] = heading(points, splits, a.goal)
    json.dump(res, open(a.out, "w"), indent=1)
    for q in points:
        print(q["label"], q["megapixels"], "MP", {s: {k: v for k, v in q[s].items() if k.endswith("gain")} for s in splits})
    if "heading" in res:
        print("heading:", json.dumps(res["heading"], indent=1))
    if a.png:
        draw(points, splits, a.goal, a.id, base_words, a.png)


if __name__ == "__main__":
    main()
