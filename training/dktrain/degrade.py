"""Degradations used to build training pairs.

Super-resolution LR images are made with a fixed, antialiased cubic downscale: the Keys cubic kernel with a = -0.75
(the same kernel as the in-graph upsampler, i.e. PyTorch bicubic == ONNX Resize cubic, cubic_coeff_a = -0.75,
pytorch_half_pixel), stretched by the scale factor so it low-passes before decimation. For scale 4 that is a 16-tap
separable filter applied with stride 4 and reflect padding; output pixel i is centred on input coordinate 4 i + 1.5
(half-pixel convention), so a W x H image maps to W/4 x H/4. The result is rounded to 8 bits, as a real LR input is.
"""
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

CUBIC_A = -0.75


def keys_cubic(d, a=CUBIC_A):
    d = np.abs(d)
    return np.where(d <= 1, (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1,
                    np.where(d < 2, a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a, 0.0))


def downscale_taps(scale):
    """The 1-D antialiased cubic taps for an integer scale (length 4 * scale), normalised to sum 1."""
    m = np.arange(-(2 * scale - 2), 2 * scale + 2)  # input offsets relative to scale * i
    centre = (scale - 1) / 2.0
    w = keys_cubic((m - centre) / scale)
    return (w / w.sum()).astype(np.float64), 2 * scale - 2


def cubic_downscale(x, scale=4):
    """x: float tensor NCHW. Returns NCHW at 1/scale size (not quantised)."""
    taps, pad = downscale_taps(scale)
    k = torch.tensor(taps, dtype=x.dtype, device=x.device)
    c = x.shape[1]
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(xp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), stride=(1, scale), groups=c)
    y = F.conv2d(y, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), stride=(scale, 1), groups=c)
    return y


def quantize_pm1(x):
    """Round a [-1, 1] tensor to the nearest 8-bit level (what an 8-bit image file would hold)."""
    return torch.round((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def make_lr(hr_pm1, scale=4):
    """HR in [-1, 1] NCHW -> 8-bit-quantised LR in [-1, 1] NCHW."""
    return quantize_pm1(cubic_downscale(hr_pm1, scale))


def upsample_bicubic(lr, scale=4):
    """The in-graph upsampler (exports to ONNX Resize cubic, a = -0.75, pytorch_half_pixel)."""
    return F.interpolate(lr, scale_factor=float(scale), mode="bicubic", align_corners=False)


def jpeg_roundtrip(img_uint8_hwc, quality):
    """Real JPEG encoding with PIL (4:2:0 chroma subsampling, PIL's defaults) at the given quality."""
    buf = io.BytesIO()
    Image.fromarray(img_uint8_hwc).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def to_pm1(u8_nhwc):
    return torch.from_numpy(u8_nhwc).permute(0, 3, 1, 2).float() / 127.5 - 1


def to_u8(pm1_nchw):
    return ((pm1_nchw.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
