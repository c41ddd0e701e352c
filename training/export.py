#!/usr/bin/env python3
"""Export a trained model to ONNX (opset 17, float32, dynamic N/H/W), verify it with ONNX Runtime against PyTorch,
and write model.json (+ the weights-only fp16 checkpoint on request).

  /usr/bin/python3 training/export.py sr3-x4                         # EMA weights of the cache run
  /usr/bin/python3 training/export.py sr3-x4 --weights training/checkpoints/sr3-x4.fp16.pt
  /usr/bin/python3 training/export.py sr3-x4 --save-fp16             # also write training/checkpoints/<id>.fp16.pt
  /usr/bin/python3 training/export.py sr3-x4 --metrics metrics.json  # copy metrics into model.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from dktrain import CACHE  # noqa: E402
from dktrain.files import sha256_file as sha256  # noqa: E402
from dktrain.registry import MODELS  # noqa: E402

TOL = 1e-4



def load_weights(mid, weights, untrained=False):
    """The EMA weights of a checkpoint; with untrained, the same architecture (config from the checkpoint) with
    PyTorch's default initialisation under a fixed seed: the "no diffusion training" baseline for features."""
    spec = MODELS[mid]
    path = weights or os.path.join(CACHE, "runs", spec["run"], "ckpt.pt")
    st = torch.load(path, map_location="cpu")
    if untrained:
        torch.manual_seed(0)
        st = {"config": st["config"], "step": 0, "wall": 0}
    model = spec["build"](st["config"])
    if not untrained:
        model.load_state_dict({k: v.float() for k, v in st["ema"].items()})
    model.eval()
    return model, st, path


def ort_run(onnx_path, feeds):
    with tempfile.TemporaryDirectory() as d:
        spec = {"model": onnx_path, "inputs": {}, "outDir": d}
        for k, v in feeds.items():
            f = os.path.join(d, f"in_{k}.bin")
            np.ascontiguousarray(v, dtype=np.float32).tofile(f)
            spec["inputs"][k] = {"file": f, "dims": list(v.shape)}
        sp = os.path.join(d, "spec.json")
        json.dump(spec, open(sp, "w"))
        r = subprocess.run(["node", os.path.join(HERE, "ort_check.cjs"), sp], capture_output=True, text=True,
                           cwd=REPO)
        if r.returncode != 0:
            raise SystemExit(f"onnxruntime-node failed: {r.stderr}")
        meta = json.loads(r.stdout.strip().splitlines()[-1])
        outs = {k: np.fromfile(o["file"], dtype=np.float32).reshape(o["dims"]) for k, o in meta["outputs"].items()}
        return outs, meta


def verify(part, g, onnx_path):
    rng = np.random.default_rng(0)
    worst = 0.0
    for n, h, w in ((1, 64, 64), (2, 96, 160), (1, 128, 128)):
        feeds = {}
        for k, shp in g["example"](n, h, w).items():
            if k == "noise_level":
                feeds[k] = rng.uniform(0.05, 0.999, size=shp).astype(np.float32)
            elif k == "timestep":
                feeds[k] = rng.integers(0, 1000, size=shp).astype(np.float32)
            else:
                feeds[k] = rng.uniform(-1, 1, size=shp).astype(np.float32)
        with torch.no_grad():
            ref = part(*[torch.from_numpy(feeds[k]) for k in g["inputs"]])
        ref = ref if isinstance(ref, (tuple, list)) else (ref,)
        outs, meta = ort_run(onnx_path, feeds)
        for name, r in zip(g["outputs"], ref):
            diff = float(np.abs(outs[name] - r.numpy()).max())
            worst = max(worst, diff)
            print(f"verify {g['path']} N={n} {h}x{w} {name} {list(r.shape)}: max |ort - torch| = {diff:.2e} "
                  f"({meta['ms']} ms in ORT)")
    if worst >= TOL:
        raise SystemExit(f"ONNX Runtime output differs from PyTorch by {worst:.2e} >= {TOL}: not writing the export")
    return worst


def export_graph(model, g, out_dir):
    import onnx  # noqa: PLC0415
    part = g["part"](model).eval()
    shapes = g["example"](1, 64, 64)
    args = tuple(torch.zeros(shapes[k]) + (0.5 if k == "noise_level" else 0.0) for k in g["inputs"])
    tmp = os.path.join(out_dir, g["path"] + ".tmp")
    torch.onnx.export(part, args, tmp, opset_version=17, input_names=g["inputs"], output_names=g["outputs"],
                      dynamic_axes=g["dynamic"], do_constant_folding=True)
    onnx.checker.check_model(onnx.load(tmp))
    worst = verify(part, g, tmp)
    return tmp, worst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id", choices=sorted(MODELS))
    p.add_argument("--weights", default=None)
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--metrics", default=None, help="JSON file of metrics to embed")
    p.add_argument("--default-steps", type=int, default=None)
    p.add_argument("--save-fp16", action="store_true")
    p.add_argument("--untrained", action="store_true",
                   help="export randomly initialised weights as <id>-untrained into --out (a baseline, never bundled)")
    p.add_argument("--out", default=None, help="output folder (default: the model's package folder)")
    a = p.parse_args()
    torch.set_num_threads(2)
    spec = MODELS[a.id]
    model, st, wpath = load_weights(a.id, a.weights, a.untrained)
    model_id = f"{a.id}-untrained" if a.untrained else a.id
    if a.untrained and not a.out:
        p.error("--untrained needs --out: an untrained baseline never replaces the bundled model")
    out_dir = a.out or os.path.join(REPO, spec["package"])
    os.makedirs(out_dir, exist_ok=True)
    done, worst = [], 0.0
    for g in spec["graphs"]:
        tmp, w = export_graph(model, g, out_dir)
        done.append((g, tmp))
        worst = max(worst, w)
    files, roles_in, roles_out = [], {}, {}
    for g, tmp in done:  # every graph verified: only now replace the previous export
        final = os.path.join(out_dir, g["path"])
        os.replace(tmp, final)
        files.append({"role": g["role"], "path": g["path"], "sha256": sha256(final), "bytes": os.path.getsize(final)})
        roles_in.update(g["roles_in"])
        roles_out.update(g["roles_out"])
    old = os.path.join(out_dir, "model.json")
    previous = json.load(open(old)) if os.path.exists(old) else {}
    metrics = json.load(open(a.metrics)) if a.metrics else previous.get("metrics", {})
    # a backbone keeps the read-out select_features.mjs chose for it until it is chosen again
    features = (previous.get("features") or spec["features"]) if spec.get("features") else None
    diffusion = dict(spec["diffusion"])
    diffusion["schedule"] = dict(diffusion["schedule"])
    if a.default_steps:
        diffusion["defaultSteps"] = a.default_steps
    manifest = {
        "schema": 1, "id": model_id, "version": a.version, "task": spec["task"],
        "files": files,
        "io": {"inputs": roles_in, "outputs": roles_out},
        "channels": 3, "range": [-1, 1],
    }
    if spec.get("scale"):
        manifest["scale"] = spec["scale"]
    manifest["diffusion"] = diffusion
    if spec.get("tile"):
        manifest["tile"] = spec["tile"]
    if features:
        manifest["features"] = features
    trained_on = "nothing: PyTorch's default initialisation (seed 0), a baseline" if a.untrained else spec["trainedOn"]
    manifest.update({"trainedOn": trained_on, "license": spec["license"], "metrics": metrics})
    with open(old, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    info = {"step": st.get("step"), "train_minutes": round(st.get("wall", 0) / 60, 1), "history": st.get("history"),
            "weights": wpath,
            "max_abs_diff_ort_vs_torch": worst, "bytes": sum(f["bytes"] for f in files)}
    print(json.dumps(info))
    with open(os.path.join(out_dir, "export-info.json"), "w") as f:
        json.dump({k: v for k, v in info.items() if k != "weights"}, f, indent=1)
        f.write("\n")
    if a.save_fp16:
        ck = os.path.join(HERE, "checkpoints")
        os.makedirs(ck, exist_ok=True)
        half = {"ema": {k: v.half() for k, v in model.state_dict().items()}, "config": st["config"],
                "step": st.get("step"), "wall": st.get("wall"), "schedule": st.get("schedule"),
                "history": st.get("history")}
        torch.save(half, os.path.join(ck, f"{a.id}.fp16.pt"))
        print("wrote", os.path.join(ck, f"{a.id}.fp16.pt"))


if __name__ == "__main__":
    main()
