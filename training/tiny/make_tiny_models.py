"""Builds the tiny ONNX models the unit tests run on (random weights, fixed seed; they test plumbing, not quality).

Usage: /usr/bin/python3 training/tiny/make_tiny_models.py   (writes test/models/tiny-*/{model.onnx,model.json})
"""
import hashlib
import math
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


class TinySrdiffEncoder(nn.Module):
    """lr (N,3,h,w) -> (features (N,4,2h,2w) nearest-upsampled, bicubic x2 of lr)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, lr):
        f = nn.functional.interpolate(torch.tanh(self.conv(lr)), scale_factor=2.0, mode="nearest")
        return f, nn.functional.interpolate(lr, scale_factor=2.0, mode="bicubic", align_corners=False)


class TinySrdiffDenoiser(nn.Module):
    """x (residual) + timestep + features -> eps. Close to the optimal denoiser for a residual that is always zero,
    eps = x / sqrt(1 - alpha_bar(t)) (cosine schedule, T = 100), plus a small term of the features: sampling then
    returns (almost) the encoder's upsampling, which makes tiling errors visible in tests."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(7, 3, 3, padding=1)

    def forward(self, x, timestep, lr_features):
        s = 0.008
        f = lambda t: torch.cos((t / 100.0 + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
        alpha_bar = (f(timestep + 1.0) / f(torch.zeros_like(timestep))).clamp(1e-5, 0.9999)[:, None, None, None]
        return x / torch.sqrt(1 - alpha_bar) + 0.002 * torch.tanh(self.conv(torch.cat([x, lr_features], 1)))


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


def export_tiny_srdiff():
    torch.manual_seed(1357)
    encoder, denoiser = TinySrdiffEncoder().eval(), TinySrdiffDenoiser().eval()
    folder = os.path.join(ROOT, "test", "models", "tiny-srdiff-x2")
    os.makedirs(folder, exist_ok=True)
    enc_path, den_path = os.path.join(folder, "encoder.onnx"), os.path.join(folder, "denoiser.onnx")
    torch.onnx.export(encoder, (torch.randn(2, 3, 8, 8),), enc_path, opset_version=17,
                      input_names=["lr"], output_names=["lr_features", "upsampled"],
                      dynamic_axes={"lr": {0: "n", 2: "h", 3: "w"}, "lr_features": {0: "n", 2: "H", 3: "W"},
                                    "upsampled": {0: "n", 2: "H", 3: "W"}})
    torch.onnx.export(denoiser, (torch.randn(2, 3, 16, 16), torch.tensor([10.0, 50.0]), torch.randn(2, 4, 16, 16)),
                      den_path, opset_version=17, input_names=["x", "timestep", "lr_features"], output_names=["eps"],
                      dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "timestep": {0: "n"},
                                    "lr_features": {0: "n", 2: "h", 3: "w"}, "eps": {0: "n", 2: "h", 3: "w"}})
    manifest = {
        "schema": 1, "id": "tiny-srdiff-x2", "version": "0.1.0", "task": "srdiff",
        "files": [
            {"role": "encoder", "path": "encoder.onnx", "sha256": sha256(enc_path), "bytes": os.path.getsize(enc_path)},
            {"role": "denoiser", "path": "denoiser.onnx", "sha256": sha256(den_path), "bytes": os.path.getsize(den_path)},
        ],
        "io": {"inputs": {"lr": "lr", "x": "x", "noise_level": "timestep", "lr_features": "lr_features"},
               "outputs": {"lr_features": "lr_features", "upsampled": "upsampled", "out": "eps"}},
        "channels": 3, "range": [-1, 1], "scale": 2,
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 100},
                      "noiseInput": "timestep", "prediction": "eps", "target": "residual", "clipX0": False,
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
    export_tiny_srdiff()
