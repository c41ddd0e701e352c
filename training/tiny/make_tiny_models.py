"""Builds the tiny ONNX models the unit tests run on (random weights, fixed seed; they test plumbing, not quality).

Usage: /usr/bin/python3 training/tiny/make_tiny_models.py   (writes test/models/tiny-*/{model.onnx,model.json})
"""
import hashlib
import json
import os

import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class TinyDenoiser(nn.Module):
    """x (N,3,H,W) + noise_level (N) -> out (N,3,H,W), plus one decoder-like feature map."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.inp = nn.Conv2d(3, width, 3, padding=1)
        self.level = nn.Linear(1, width)
        self.down = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(width, width, 2, stride=2)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, noise_level):
        h = torch.relu(self.inp(x) + self.level(noise_level[:, None])[:, :, None, None])
        feat = torch.relu(self.up(torch.relu(self.down(h))))
        return self.out(h + feat), feat


class TinySr(nn.Module):
    """x (N,3,H,W) + noise_level (N) + lr (N,3,H/2,W/2) -> x0 estimate: bicubic(lr) plus a small learned-free residual."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.inp = nn.Conv2d(6, width, 3, padding=1)
        self.level = nn.Linear(1, width)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, noise_level, lr):
        up = nn.functional.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
        h = torch.relu(self.inp(torch.cat([x, up], 1)) + self.level(noise_level[:, None])[:, :, None, None])
        return up + 0.05 * torch.tanh(self.out(h))


class TinyPalette(nn.Module):
    """x (N,3,H,W) + noise_level (N) + cond (N,3,H,W) -> x0 estimate: cond plus a small bounded residual."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.inp = nn.Conv2d(6, width, 3, padding=1)
        self.level = nn.Linear(1, width)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, noise_level, cond):
        h = torch.relu(self.inp(torch.cat([x, cond], 1)) + self.level(noise_level[:, None])[:, :, None, None])
        return cond + 0.05 * torch.tanh(self.out(h))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export_tiny_ddpm():
    torch.manual_seed(1234)
    model = TinyDenoiser().eval()
    folder = os.path.join(ROOT, "test", "models", "tiny-ddpm")
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, "model.onnx")
    x = torch.randn(2, 3, 16, 16)
    level = torch.tensor([10.0, 500.0])
    torch.onnx.export(
        model, (x, level), onnx_path, opset_version=17,
        input_names=["x", "noise_level"], output_names=["out", "dec1"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "noise_level": {0: "n"},
                      "out": {0: "n", 2: "h", 3: "w"}, "dec1": {0: "n", 2: "h", 3: "w"}},
    )
    manifest = {
        "schema": 1, "id": "tiny-ddpm", "version": "0.1.0", "task": "ddpm",
        "files": [{"role": "model", "path": "model.onnx", "sha256": sha256(onnx_path), "bytes": os.path.getsize(onnx_path)}],
        "io": {"inputs": {"x": "x", "noise_level": "noise_level"}, "outputs": {"out": "out", "dec1": "dec1"}},
        "channels": 3, "range": [-1, 1],
        "diffusion": {"schedule": {"kind": "linear", "betaStart": 1e-4, "betaEnd": 0.02, "trainSteps": 1000},
                      "noiseInput": "timestep", "prediction": "eps", "target": "image", "clipX0": True,
                      "defaultSampler": "ddim", "defaultSteps": 10},
        "tile": {"size": 32, "multipleOf": 2},
        "features": {"outputs": ["dec1"], "timesteps": [50, 150]},
        "trainedOn": "nothing: random weights for unit tests", "license": "Apache-2.0",
    }
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    # Reference output for the engine test, computed by PyTorch on a fixed input.
    with torch.no_grad():
        probe = torch.linspace(-1, 1, 3 * 8 * 8).reshape(1, 3, 8, 8)
        out, _ = model(probe, torch.tensor([100.0]))
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump({"input": "linspace(-1,1,192) as 1x3x8x8, noise_level 100", "out": [round(v, 6) for v in out.flatten().tolist()]}, f)
    print("wrote", folder)


def export_tiny_sr():
    torch.manual_seed(4321)
    model = TinySr().eval()
    folder = os.path.join(ROOT, "test", "models", "tiny-sr3-x2")
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, "model.onnx")
    args = (torch.randn(2, 3, 16, 16), torch.tensor([0.5, 0.9]), torch.randn(2, 3, 8, 8))
    torch.onnx.export(
        model, args, onnx_path, opset_version=17,
        input_names=["x", "noise_level", "lr"], output_names=["out"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "noise_level": {0: "n"}, "lr": {0: "n", 2: "lh", 3: "lw"},
                      "out": {0: "n", 2: "h", 3: "w"}},
    )
    manifest = {
        "schema": 1, "id": "tiny-sr3-x2", "version": "0.1.0", "task": "sr3",
        "files": [{"role": "model", "path": "model.onnx", "sha256": sha256(onnx_path), "bytes": os.path.getsize(onnx_path)}],
        "io": {"inputs": {"x": "x", "noise_level": "noise_level", "lr": "lr"}, "outputs": {"out": "out"}},
        "channels": 3, "range": [-1, 1], "scale": 2,
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000},
                      "noiseInput": "sqrt-alpha-bar", "prediction": "x0", "target": "image", "clipX0": True,
                      "defaultSampler": "ddim", "defaultSteps": 3, "spacing": "trailing"},
        "tile": {"size": 32, "multipleOf": 4},
        "trainedOn": "nothing: random weights for unit tests", "license": "Apache-2.0",
    }
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", folder)


def export_tiny_palette():
    torch.manual_seed(2468)
    model = TinyPalette().eval()
    folder = os.path.join(ROOT, "test", "models", "tiny-palette-jpeg")
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, "model.onnx")
    args = (torch.randn(2, 3, 16, 16), torch.tensor([0.5, 0.9]), torch.randn(2, 3, 16, 16))
    torch.onnx.export(
        model, args, onnx_path, opset_version=17,
        input_names=["x", "noise_level", "cond"], output_names=["out"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "noise_level": {0: "n"}, "cond": {0: "n", 2: "h", 3: "w"},
                      "out": {0: "n", 2: "h", 3: "w"}},
    )
    manifest = {
        "schema": 1, "id": "tiny-palette-jpeg", "version": "0.1.0", "task": "palette-jpeg",
        "files": [{"role": "model", "path": "model.onnx", "sha256": sha256(onnx_path), "bytes": os.path.getsize(onnx_path)}],
        "io": {"inputs": {"x": "x", "noise_level": "noise_level", "cond": "cond"}, "outputs": {"out": "out"}},
        "channels": 3, "range": [-1, 1],
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000},
                      "noiseInput": "alpha-bar", "prediction": "x0", "target": "image", "clipX0": True,
                      "defaultSampler": "ddim", "defaultSteps": 3, "spacing": "trailing"},
        "tile": {"size": 32, "multipleOf": 4},
        "trainedOn": "nothing: random weights for unit tests", "license": "Apache-2.0",
    }
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", folder)


if __name__ == "__main__":
    torch.set_num_threads(2)
    export_tiny_ddpm()
    export_tiny_sr()
    export_tiny_palette()
