"""Builds the tiny ONNX models the unit tests run on (random weights, fixed seed; they test plumbing, not quality).

Usage: /usr/bin/python3 training/tiny/make_tiny_models.py   (writes test/models/tiny-*/{model.onnx,model.json})
"""
import math
import json
import os
import sys

import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "training"))
from dktrain.files import sha256_file as sha256  # noqa: E402


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


class TinyMultiScaleDenoiser(nn.Module):
    """Like TinyDenoiser, with decoder-like maps at 1, 1/2 and 1/4 of the input: a segmentation backbone in small."""

    def __init__(self, width: int = 6):
        super().__init__()
        self.inp = nn.Conv2d(3, width, 3, padding=1)
        self.level = nn.Linear(1, width)
        self.down2 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.down4 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.up4 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.up2 = nn.ConvTranspose2d(width, width, 2, stride=2)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, noise_level):
        h1 = torch.relu(self.inp(x) + self.level(noise_level[:, None])[:, :, None, None])
        h2 = torch.relu(self.down2(h1))
        h4 = torch.relu(self.down4(h2))
        d2 = torch.relu(self.up4(h4) + h2)
        d1 = torch.relu(self.up2(d2) + h1)
        return self.out(d1), d1, d2, h4


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


class TinyPaletteInpaint(nn.Module):
    """x + noise_level + cond + mask (N,1,H,W; 1 = hole) -> x0 estimate: cond outside the hole plus a bounded term
    everywhere, so an SDK that failed to keep the known pixels would show it; inside the hole a bounded function of
    x and of the hole-free cond."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.inp = nn.Conv2d(7, width, 3, padding=1)
        self.level = nn.Linear(1, width)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, noise_level, cond, mask):
        known = cond * (1 - mask)
        h = torch.relu(self.inp(torch.cat([x, known, mask], 1)) + self.level(noise_level[:, None])[:, :, None, None])
        return known + 0.5 * torch.tanh(self.out(h))


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



IMAGE_AXES = {0: "n", 2: "h", 3: "w"}
UNTRAINED = {"trainedOn": "nothing: random weights for unit tests", "license": "Apache-2.0"}


def export_onnx(model, args, path, inputs, outputs, axes=None):
    """opset 17; every tensor's batch and spatial axes dynamic unless `axes` says otherwise."""
    dynamic = {name: ({0: "n"} if name in ("noise_level", "timestep") else IMAGE_AXES) for name in inputs + outputs}
    dynamic.update(axes or {})
    torch.onnx.export(model, args, path, opset_version=17, input_names=inputs, output_names=outputs, dynamic_axes=dynamic)


def write_model(model_id, task, files, fields):
    """Writes model.json for the ONNX files {role: path} already exported into test/models/<model_id>/."""
    folder = os.path.join(ROOT, "test", "models", model_id)
    entries = [{"role": role, "path": os.path.basename(path), "sha256": sha256(path), "bytes": os.path.getsize(path)}
               for role, path in files.items()]
    manifest = {"schema": 1, "id": model_id, "version": "0.1.0", "task": task, "files": entries, **fields, **UNTRAINED}
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", folder)


def model_folder(model_id):
    folder = os.path.join(ROOT, "test", "models", model_id)
    os.makedirs(folder, exist_ok=True)
    return folder


def diffusion(schedule, noise_input, prediction, steps, target="image", clip=True, spacing=None):
    d = {"schedule": schedule, "noiseInput": noise_input, "prediction": prediction, "target": target, "clipX0": clip,
         "defaultSampler": "ddim", "defaultSteps": steps}
    return {**d, "spacing": spacing} if spacing else d


COSINE = {"kind": "cosine", "trainSteps": 1000}


def export_tiny_ddpm():
    torch.manual_seed(1234)
    model = TinyDenoiser().eval()
    folder = model_folder("tiny-ddpm")
    onnx_path = os.path.join(folder, "model.onnx")
    export_onnx(model, (torch.randn(2, 3, 16, 16), torch.tensor([10.0, 500.0])), onnx_path, ["x", "noise_level"], ["out", "dec1"])
    write_model("tiny-ddpm", "ddpm", {"model": onnx_path}, {
        "io": {"inputs": {"x": "x", "noise_level": "noise_level"}, "outputs": {"out": "out", "dec1": "dec1"}},
        "channels": 3, "range": [-1, 1],
        "diffusion": diffusion({"kind": "linear", "betaStart": 1e-4, "betaEnd": 0.02, "trainSteps": 1000}, "timestep", "eps", 10),
        "tile": {"size": 32, "multipleOf": 2},
        "features": {"outputs": ["dec1"], "timesteps": [50, 150]},
    })
    # Reference output for the engine test, computed by PyTorch on a fixed input.
    with torch.no_grad():
        probe = torch.linspace(-1, 1, 3 * 8 * 8).reshape(1, 3, 8, 8)
        out, _ = model(probe, torch.tensor([100.0]))
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump({"input": "linspace(-1,1,192) as 1x3x8x8, noise_level 100", "out": [round(v, 6) for v in out.flatten().tolist()]}, f)


def export_tiny_ddpm_features():
    torch.manual_seed(2468)
    model = TinyMultiScaleDenoiser().eval()
    folder = model_folder("tiny-ddpm-features")
    onnx_path = os.path.join(folder, "model.onnx")
    outputs = ["out", "dec_s1", "dec_s2", "dec_s4"]
    export_onnx(model, (torch.randn(2, 3, 16, 16), torch.tensor([10.0, 500.0])), onnx_path, ["x", "noise_level"], outputs)
    write_model("tiny-ddpm-features", "ddpm", {"model": onnx_path}, {
        "io": {"inputs": {"x": "x", "noise_level": "noise_level"}, "outputs": {o: o for o in outputs}},
        "channels": 3, "range": [-1, 1],
        "diffusion": diffusion({"kind": "linear", "betaStart": 1e-4, "betaEnd": 0.02, "trainSteps": 1000}, "timestep", "eps", 10),
        "tile": {"size": 32, "multipleOf": 4},
        "features": {"outputs": ["dec_s1", "dec_s2", "dec_s4"], "timesteps": [50, 250]},
    })


def export_tiny_sr():
    torch.manual_seed(4321)
    onnx_path = os.path.join(model_folder("tiny-sr3-x2"), "model.onnx")
    args = (torch.randn(2, 3, 16, 16), torch.tensor([0.5, 0.9]), torch.randn(2, 3, 8, 8))
    export_onnx(TinySr().eval(), args, onnx_path, ["x", "noise_level", "lr"], ["out"], {"lr": {0: "n", 2: "lh", 3: "lw"}})
    write_model("tiny-sr3-x2", "sr3", {"model": onnx_path}, {
        "io": {"inputs": {"x": "x", "noise_level": "noise_level", "lr": "lr"}, "outputs": {"out": "out"}},
        "channels": 3, "range": [-1, 1], "scale": 2,
        "diffusion": diffusion(COSINE, "sqrt-alpha-bar", "x0", 3, spacing="trailing"),
        "tile": {"size": 32, "multipleOf": 4},
    })


def export_tiny_palette():
    torch.manual_seed(2468)
    onnx_path = os.path.join(model_folder("tiny-palette-jpeg"), "model.onnx")
    args = (torch.randn(2, 3, 16, 16), torch.tensor([0.5, 0.9]), torch.randn(2, 3, 16, 16))
    export_onnx(TinyPalette().eval(), args, onnx_path, ["x", "noise_level", "cond"], ["out"])
    write_model("tiny-palette-jpeg", "palette-jpeg", {"model": onnx_path}, {
        "io": {"inputs": {"x": "x", "noise_level": "noise_level", "cond": "cond"}, "outputs": {"out": "out"}},
        "channels": 3, "range": [-1, 1],
        "diffusion": diffusion(COSINE, "alpha-bar", "x0", 3, spacing="trailing"),
        "tile": {"size": 32, "multipleOf": 4},
    })


def export_tiny_palette_inpaint():
    torch.manual_seed(3579)
    onnx_path = os.path.join(model_folder("tiny-palette-inpaint"), "model.onnx")
    args = (torch.randn(2, 3, 16, 16), torch.tensor([0.5, 0.9]), torch.randn(2, 3, 16, 16), torch.ones(2, 1, 16, 16))
    export_onnx(TinyPaletteInpaint().eval(), args, onnx_path, ["x", "noise_level", "cond", "mask"], ["out"])
    write_model("tiny-palette-inpaint", "palette-inpaint", {"model": onnx_path}, {
        "io": {"inputs": {"x": "x", "noise_level": "noise_level", "cond": "cond", "mask": "mask"}, "outputs": {"out": "out"}},
        "channels": 3, "range": [-1, 1],
        "diffusion": diffusion(COSINE, "alpha-bar", "x0", 3, spacing="trailing"),
        "tile": {"size": 32, "multipleOf": 4},
    })


def export_tiny_srdiff():
    torch.manual_seed(1357)
    encoder, denoiser = TinySrdiffEncoder().eval(), TinySrdiffDenoiser().eval()
    folder = model_folder("tiny-srdiff-x2")
    enc_path, den_path = os.path.join(folder, "encoder.onnx"), os.path.join(folder, "denoiser.onnx")
    export_onnx(encoder, (torch.randn(2, 3, 8, 8),), enc_path, ["lr"], ["lr_features", "upsampled"],
                {"lr_features": {0: "n", 2: "H", 3: "W"}, "upsampled": {0: "n", 2: "H", 3: "W"}})
    export_onnx(denoiser, (torch.randn(2, 3, 16, 16), torch.tensor([10.0, 50.0]), torch.randn(2, 4, 16, 16)),
                den_path, ["x", "timestep", "lr_features"], ["eps"])
    write_model("tiny-srdiff-x2", "srdiff", {"encoder": enc_path, "denoiser": den_path}, {
        "io": {"inputs": {"lr": "lr", "x": "x", "noise_level": "timestep", "lr_features": "lr_features"},
               "outputs": {"lr_features": "lr_features", "upsampled": "upsampled", "out": "eps"}},
        "channels": 3, "range": [-1, 1], "scale": 2,
        "diffusion": diffusion({"kind": "cosine", "trainSteps": 100}, "timestep", "eps", 3, target="residual", clip=False,
                               spacing="trailing"),
        "tile": {"size": 32, "multipleOf": 4},
    })


if __name__ == "__main__":
    torch.set_num_threads(2)
    export_tiny_ddpm()
    export_tiny_sr()
    export_tiny_palette()
    export_tiny_srdiff()
    export_tiny_palette_inpaint()
    export_tiny_ddpm_features()
