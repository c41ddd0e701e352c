#!/usr/bin/env python3
"""Choose sr3-x4's defaultSteps from the validation curve and write the manifest metrics (test split).

defaultSteps = the largest DDIM step count whose validation PSNR-Y beats bicubic by >= MARGIN on both domains (more
steps = more generated detail); if none is, the count with the best mean PSNR gain. Prints the choice.
usage: pick_steps.py val.json test.json metrics_out.json [forced_steps]
A fourth argument skips the rule and writes the metrics of that step count (a choice the model card must justify).
"""
import json
import sys

MARGIN = 0.1  # dB over bicubic on both domains: a tie is not a win
val, test = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
steps = sorted({int(k.split("_ddim")[1].split("_")[0]) for k in val if "_ddim" in k and k.endswith("_psnr")})
gain = {s: [val[f"{d}_ddim{s}_trailing_psnr"] - val[f"{d}_bicubic_psnr"] for d in ("aerial", "photo")] for s in steps}
ok = [s for s in steps if min(gain[s]) >= MARGIN]
pick = max(ok) if ok else max(steps, key=lambda s: sum(gain[s]))
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
m["train_steps"] = test.get("step") or 0
json.dump(m, open(sys.argv[3], "w"), indent=1)
print(pick)
