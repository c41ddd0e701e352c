#!/usr/bin/env python3
"""PyTorch side of bench/torch-vs-runtime.mjs: times an SR model in PyTorch on the CPU (Debian's 1.13 here).

  /usr/bin/python3 bench/torch_speed.py --model sr3-x4 --threads 2 --tile 128 --batch 4 --image 256 --steps 2,20
Prints one JSON object: the median milliseconds of one network call on `batch` tiles of `tile`², and of a whole
`image`² super-resolution with the numpy DDIM of training/dktrain/sampling.py (one network call per step on the
whole image, as the research code runs it), both with the weights in training/checkpoints/.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "training"))
from dktrain.registry import MODELS  # noqa: E402
from dktrain.sampling import ddim_sample  # noqa: E402
from dktrain.schedules import alphas_cumprod  # noqa: E402
from evaluate import sampling_parts  # noqa: E402
from export import load_weights  # noqa: E402


def median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="sr3-x4")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tile", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--image", type=int, default=256)
    p.add_argument("--steps", default="2,20")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    spec = MODELS[a.model]
    model, _, _ = load_weights(a.model, os.path.join(ROOT, "training", "checkpoints", f"{a.model}.fp16.pt"))
    model.eval()
    d = spec["diffusion"]
    ac = alphas_cumprod(d["schedule"]["kind"], d["schedule"]["trainSteps"])
    scale = spec["scale"]
    rng = np.random.default_rng(0)
    result = {"torch": torch.__version__, "threads": a.threads}

    lr_tiles = torch.from_numpy(rng.uniform(-1, 1, (a.batch, 3, a.tile // scale, a.tile // scale)).astype(np.float32))
    x_tiles = np.random.default_rng(1).standard_normal((a.batch, 3, a.tile, a.tile)).astype(np.float32)
    level = np.full(a.batch, 500.0 if d["noiseInput"] == "timestep" else 0.5, np.float32)

    def one_call():
        with torch.no_grad():
            fn, _ = sampling_parts(a.model, model, lr_tiles)
            fn(x_tiles, level)

    result["call_ms"] = median_ms(one_call, a.runs)
    lr_image = torch.from_numpy(rng.uniform(-1, 1, (1, 3, a.image // scale, a.image // scale)).astype(np.float32))
    for steps in [int(s) for s in a.steps.split(",")]:
        def whole_image():
            with torch.no_grad():
                fn, to_image = sampling_parts(a.model, model, lr_image)
                to_image(ddim_sample(fn, (1, 3, a.image, a.image), ac, steps, prediction=d["prediction"],
                                     noise_kind=d["noiseInput"], clip=d["clipX0"]))

        result[f"image_ms_{steps}"] = median_ms(whole_image, a.runs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
