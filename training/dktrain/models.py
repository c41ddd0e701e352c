"""The exported model graphs. Each wraps the shared UNet with its task's conditioning."""
import torch
import torch.nn as nn

from .degrade import upsample_bicubic
from .fill import membrane_fill
from .unet import UNet


class SR3(nn.Module):
    """SR3-style conditional denoiser.

    inputs: x (noisy HR, NCHW, [-1, 1]), noise_level (float32 [N] = sqrt(alpha_bar), continuous), lr (NCHW, 1/scale).
    The LR image is upsampled inside the graph (bicubic, a = -0.75) and concatenated with x. With prediction "x0" the
    output is upsampled(lr) + UNet(...): the last conv is zero-initialised, so an untrained model already returns
    the bicubic image and training only has to learn the residual detail.
    """

    def __init__(self, scale=4, prediction="x0", base=40, mults=(1, 2, 2, 2), blocks=1, dropout=0.0, unshuffle=2,
                 refine=0):
        super().__init__()
        self.scale, self.prediction = scale, prediction
        self.unet = UNet(6, 3, base=base, mults=mults, blocks=blocks, emb_scale=1000.0, dropout=dropout,
                         unshuffle=unshuffle, refine=refine)

    def forward(self, x, noise_level, lr):
        up = upsample_bicubic(lr, self.scale)
        h = self.unet(torch.cat([x, up], dim=1), noise_level)
        return up + h if self.prediction == "x0" else h


class DDPM(nn.Module):
    """Unconditional eps-prediction DDPM; integer timestep input (float32 [N], 0-based). Returns (eps, *features)."""

    def __init__(self, feature_names=("dec0", "dec1", "dec2"), base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2,
                 refine=0):
        super().__init__()
        self.feature_names = tuple(feature_names)
        self.unet = UNet(3, 3, base=base, mults=mults, blocks=blocks, emb_scale=1.0, unshuffle=unshuffle,
                         refine=refine)

    def forward(self, x, timestep):
        out, feats = self.unet(x, timestep, return_features=True)
        return (out, *[feats[n] for n in self.feature_names])


class Palette(nn.Module):
    """Palette-style image-to-image denoiser: concat(cond, x) -> UNet. noise_level input = alpha_bar (Palette's
    gamma). With prediction "x0" the output is cond + UNet(...) (starts at the identity restoration).

    inpaint: a third input `mask` (N,1,H,W; 1 = hole) is concatenated too, and the graph itself fills the hole of
    cond, so whatever a caller leaves under the mask never reaches the network. fill "zero": with 0 (mid-grey in
    [-1, 1]); fill "membrane": with dktrain.fill.membrane_fill (close to the harmonic fill), so that with prediction
    "x0" the network learns the residual over that smooth fill and starts out equal to it."""

    def __init__(self, prediction="x0", inpaint=False, base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2,
                 fill="zero", refine=0):
        super().__init__()
        if fill not in ("zero", "membrane"):
            raise ValueError(f"fill must be 'zero' or 'membrane', not {fill!r}")
        self.prediction, self.inpaint, self.fill = prediction, inpaint, fill
        self.unet = UNet(6 + (1 if inpaint else 0), 3, base=base, mults=mults, blocks=blocks, emb_scale=1000.0,
                         unshuffle=unshuffle, refine=refine)

    def forward(self, x, noise_level, cond, mask=None):
        if self.inpaint:
            cond = cond * (1 - mask)
            if self.fill == "membrane":
                cond = membrane_fill(cond, mask)
        parts = [x, cond] + ([mask] if self.inpaint else [])
        h = self.unet(torch.cat(parts, dim=1), noise_level)
        return cond + h if self.prediction == "x0" else h


class DenseBlock(nn.Module):
    """Residual dense block (ESRGAN): each conv sees every earlier output; the block adds 0.2 x its result."""

    def __init__(self, feat, growth, convs=4):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(feat + i * growth, growth, 3, padding=1) for i in range(convs - 1))
        self.fuse = nn.Conv2d(feat + (convs - 1) * growth, feat, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        parts = [x]
        for conv in self.convs:
            parts.append(self.act(conv(torch.cat(parts, dim=1))))
        return x + 0.2 * self.fuse(torch.cat(parts, dim=1))


class RRDB(nn.Module):
    """Residual-in-residual dense block (ESRGAN, used by SRDiff's LR encoder): three dense blocks, scaled skip."""

    def __init__(self, feat, growth):
        super().__init__()
        self.blocks = nn.Sequential(*[DenseBlock(feat, growth) for _ in range(3)])

    def forward(self, x):
        return x + 0.2 * self.blocks(x)


class SRDiffEncoder(nn.Module):
    """SRDiff-style LR encoder: a small RRDB stack over the LR image, its features brought to HR size by nearest
    upsampling (every HR pixel sees the features of the LR pixel it lies in), plus the in-graph bicubic image."""

    def __init__(self, scale=4, feat=32, blocks=2, growth=16):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, feat, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(feat, growth) for _ in range(blocks)])
        self.tail = nn.Conv2d(feat, feat, 3, padding=1)

    def forward(self, lr):
        h = self.head(lr)
        f = self.tail(self.body(h)) + h
        return nn.functional.interpolate(f, scale_factor=float(self.scale), mode="nearest"), upsample_bicubic(lr, self.scale)


class SRDiffDenoiser(nn.Module):
    """Diffuses the residual (HR - bicubic(lr)); integer timestep input; eps prediction (SRDiff)."""

    def __init__(self, feat=32, base=40, mults=(1, 2, 2, 2), blocks=1, unshuffle=2, refine=0):
        super().__init__()
        self.unet = UNet(3 + feat, 3, base=base, mults=mults, blocks=blocks, emb_scale=1.0, unshuffle=unshuffle,
                         refine=refine)

    def forward(self, x, timestep, lr_features):
        return self.unet(torch.cat([x, lr_features], dim=1), timestep)
