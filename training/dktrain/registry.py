"""Per-model export metadata: the ONNX graphs (one per file), their IO names and roles, and the manifest fields.

Each graph: role (files[].role), path, part (callable: trained wrapper -> nn.Module to export), inputs/outputs
(ONNX names, in forward order), roles_in/roles_out (manifest role -> ONNX name), dynamic axes, example shapes.
"""
import torch.nn as nn

from .models import DDPM, SR3, Palette

PHOTO_AERIAL = ("58 FlightGear aerial/satellite photo textures (Debian flightgear-data-base: Space Imaging IKONOS, "
                "IBGE, USGS) and 42 wallpaper photographs (Debian lomiri-wallpapers-16.04, mate-backgrounds, "
                "plasma-workspace-wallpapers, palapeli-data) downscaled x2; split by whole image "
                "(training/data/splits.json)")
LICENSE = ("Weights: GPL-2.0-or-later (trained on GPL-2+ FlightGear textures and GPL-2+/LGPL/CC-BY(-SA)/CC0 "
           "photographs; see README.md)")
NCHW = {0: "N", 2: "H", 3: "W"}


class _Features(nn.Module):
    """Gives every DDPM output a stable name."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, timestep):
        return self.m(x, timestep)


def _train_module(name):
    import importlib  # noqa: PLC0415
    return getattr(importlib.import_module("train"), name)


MODELS = {
    "sr3-x4": {
        "task": "sr3", "package": "packages/sr3/models/sr3-x4", "run": "sr3-x4",
        "build": lambda cfg: SR3(**cfg),
        "graphs": [{
            "role": "model", "path": "model.onnx", "part": lambda m: m,
            "inputs": ["x", "noise_level", "lr"], "outputs": ["out"],
            "roles_in": {"x": "x", "noise_level": "noise_level", "lr": "lr"}, "roles_out": {"out": "out"},
            "dynamic": {"x": NCHW, "noise_level": {0: "N"}, "lr": {0: "N", 2: "h", 3: "w"}, "out": NCHW},
            "example": lambda n, h, w: {"x": (n, 3, h, w), "noise_level": (n,), "lr": (n, 3, h // 4, w // 4)},
        }],
        "scale": 4,
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000}, "noiseInput": "sqrt-alpha-bar",
                      "prediction": "x0", "target": "image", "clipX0": True, "defaultSampler": "ddim",
                      "defaultSteps": 10},
        "tile": {"size": 128, "multipleOf": 16},
        "trainedOn": PHOTO_AERIAL + "; LR = antialiased Keys-cubic (a=-0.75) x4 downscale, rounded to 8 bits",
        "license": LICENSE,
    },
    "ddpm-aerial": {
        "task": "ddpm", "package": "packages/segment/models/ddpm-aerial", "run": "ddpm-aerial",
        "build": lambda cfg: DDPM(**cfg),
        "graphs": [{
            "role": "model", "path": "model.onnx", "part": lambda m: _Features(m),
            "inputs": ["x", "timestep"], "outputs": ["out", "dec0", "dec1", "dec2"],
            "roles_in": {"x": "x", "noise_level": "timestep"},
            "roles_out": {"out": "out", "dec0": "dec0", "dec1": "dec1", "dec2": "dec2"},
            "dynamic": {"x": NCHW, "timestep": {0: "N"}, "out": NCHW, "dec0": NCHW, "dec1": NCHW, "dec2": NCHW},
            "example": lambda n, h, w: {"x": (n, 3, h, w), "timestep": (n,)},
        }],
        "diffusion": {"schedule": {"kind": "linear", "betaStart": 1e-4, "betaEnd": 0.02, "trainSteps": 1000},
                      "noiseInput": "timestep", "prediction": "eps", "target": "image", "clipX0": True,
                      "defaultSampler": "ddim", "defaultSteps": 50},
        "tile": {"size": 128, "multipleOf": 16},
        # dec0: 1/2 input resolution, 40 ch; dec1: 1/4, 80 ch; dec2: 1/8, 80 ch
        "features": {"outputs": ["dec0", "dec1", "dec2"], "timesteps": [50, 150, 250]},
        "trainedOn": "46 FlightGear aerial/satellite photo textures (training split of training/data/splits.json)",
        "license": LICENSE,
    },
    "palette-jpeg": {
        "task": "palette-jpeg", "package": "packages/palette/models/palette-jpeg", "run": "palette-jpeg",
        "build": lambda cfg: Palette(**cfg),
        "graphs": [{
            "role": "model", "path": "model.onnx", "part": lambda m: m,
            "inputs": ["x", "noise_level", "cond"], "outputs": ["out"],
            "roles_in": {"x": "x", "noise_level": "noise_level", "cond": "cond"}, "roles_out": {"out": "out"},
            "dynamic": {"x": NCHW, "noise_level": {0: "N"}, "cond": NCHW, "out": NCHW},
            "example": lambda n, h, w: {"x": (n, 3, h, w), "noise_level": (n,), "cond": (n, 3, h, w)},
        }],
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000}, "noiseInput": "alpha-bar",
                      "prediction": "x0", "target": "image", "clipX0": True, "defaultSampler": "ddim",
                      "defaultSteps": 10},
        "tile": {"size": 128, "multipleOf": 16},
        "trainedOn": PHOTO_AERIAL + "; degraded by PIL JPEG at quality uniform in [5, 40]",
        "license": LICENSE,
    },
    "palette-inpaint": {
        "task": "palette-inpaint", "package": "packages/palette/models/palette-inpaint", "run": "palette-inpaint",
        "build": lambda cfg: Palette(**cfg),
        "graphs": [{
            "role": "model", "path": "model.onnx", "part": lambda m: m,
            "inputs": ["x", "noise_level", "cond", "mask"], "outputs": ["out"],
            "roles_in": {"x": "x", "noise_level": "noise_level", "cond": "cond", "mask": "mask"},
            "roles_out": {"out": "out"},
            "dynamic": {"x": NCHW, "noise_level": {0: "N"}, "cond": NCHW, "mask": NCHW, "out": NCHW},
            "example": lambda n, h, w: {"x": (n, 3, h, w), "noise_level": (n,), "cond": (n, 3, h, w),
                                        "mask": (n, 1, h, w)},
        }],
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000}, "noiseInput": "alpha-bar",
                      "prediction": "x0", "target": "image", "clipX0": True, "defaultSampler": "ddim",
                      "defaultSteps": 10},
        "tile": {"size": 128, "multipleOf": 16},
        "trainedOn": PHOTO_AERIAL + "; holes: boxes and free-form strokes (training/dktrain/masks.py) covering 3-60 % "
                     "of 64x64 crops; the graph fills the hole of cond with a membrane fill (training/dktrain/fill.py, close to the harmonic fill) and the network adds a residual to it",
        "license": LICENSE,
    },
    "srdiff-x4": {
        "task": "srdiff", "package": "packages/sr3/models/srdiff-x4", "run": "srdiff-x4",
        "build": lambda cfg: _train_module("SRDiff")(**cfg),
        "graphs": [{
            "role": "encoder", "path": "encoder.onnx", "part": lambda m: m.encoder,
            "inputs": ["lr"], "outputs": ["lr_features", "upsampled"],
            "roles_in": {"lr": "lr"}, "roles_out": {"lr_features": "lr_features", "upsampled": "upsampled"},
            "dynamic": {"lr": {0: "N", 2: "h", 3: "w"}, "lr_features": NCHW, "upsampled": NCHW},
            "example": lambda n, h, w: {"lr": (n, 3, h // 4, w // 4)},
        }, {
            "role": "denoiser", "path": "denoiser.onnx", "part": lambda m: m.denoiser,
            "inputs": ["x", "timestep", "lr_features"], "outputs": ["out"],
            "roles_in": {"x": "x", "noise_level": "timestep", "lr_features": "lr_features"},
            "roles_out": {"out": "out"},
            "dynamic": {"x": NCHW, "timestep": {0: "N"}, "lr_features": NCHW, "out": NCHW},
            "example": lambda n, h, w: {"x": (n, 3, h, w), "timestep": (n,), "lr_features": (n, 32, h, w)},
        }],
        "scale": 4,
        # the sampled residual r is added to the encoder output: image = upsampled + r
        "diffusion": {"schedule": {"kind": "cosine", "trainSteps": 1000}, "noiseInput": "timestep",
                      "prediction": "x0", "target": "residual", "clipX0": False, "defaultSampler": "ddim",
                      "defaultSteps": 20},
        "tile": {"size": 128, "multipleOf": 16, "contextMargin": 26},  # encoder receptive radius: 26 LR pixels
        "trainedOn": PHOTO_AERIAL + "; LR = antialiased Keys-cubic (a=-0.75) x4 downscale, rounded to 8 bits",
        "license": LICENSE,
    },
}
