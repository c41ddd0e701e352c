#!/usr/bin/env python3
"""Choose an SR model's defaultSteps from the validation curve and write the manifest metrics (test split).

defaultSteps = the DDIM step count with the best mean validation PSNR-Y gain over bicubic across both domains; a
count within TIE dB of the best goes to the fewer steps (faster, and fidelity first: every further step adds
generated detail that is not in the ground truth). Users who want that detail ask for more steps. Until 2026-12-04 the
rule took the largest count beating bicubic by 0.1 dB on both domains, which chose 4 steps and gave up 0.3-0.6 dB on
aerial test crops. Prints the choice.
usage: pick_steps.py val.json test.json metrics_out.json [forced_steps]
A fourth argument skips the rule and writes the metrics of that step count (a choice the model card must justify).
"""
import json
import sys

TIE = 0.02  # dB of mean gain: closer than this, fewer steps win
val, test = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
steps = sorted({int(k.split("_ddim")[1].split("_")[0]) for k in val if "_ddim" in k and k.endswith("_psnr")})
gain = {s: [val[f"{d}_ddim{s}_trailing_psnr"] - val[f"{d}_bicubic_psnr"] for d in ("aerial", "photo")] for s in steps}
best = max(sum(gain[s]) / 2 for s in steps)
pick = min(s for s in steps if sum(gain[s]) / 2 >= best - TIE)
if len(sys.argv) > 4:
    pick = int(sys.argv[4])
tsteps = sorted({int(k.split("_ddim")[1].split("_")[0]) for k in test if "_ddim" in k and k.endswith("_psnr")})
ts = pick if pick in tsteps else min(tsteps, key=lambda s: abs(s - pick))
m = {}
for d in ("aerial", "photo"):
    m[f"psnr_y_{d}"] = round(test[f"{d}_ddim{ts}_trailing_psnr"], 3)
    m[f"psnr_y_bicubic_{d}"] = round(test[f"{d}_bicubic_psnr"], 3)
    m[f"ssim_y_{d}"] = round(test[f"{d}_ddim{ts}_trailing_ssim"], 4)
    m[f"ssim_y_bicubic_{d}"] = round(test[f"{d}_bicubic_ssim"], 4)
    for s in tsteps:
        m[f"psnr_y_{d}_ddim{s}"] = round(test[f"{d}_ddim{s}_trailing_psnr"], 3)
m["metrics_steps"] = ts
m["train_steps"] = test.get("total_steps") or test.get("step") or 0  # all segments, not just the last
json.dump(m, open(sys.argv[3], "w"), indent=1)
print(pick)
