"""Fidelity metrics as super-resolution papers report them: Y channel (BT.601, 16..235) of 8-bit images, with a
border of `scale` pixels cropped."""
import numpy as np


def rgb_to_y(u8):
    x = u8.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def psnr_y(a_u8, b_u8, border=4):
    """Mean PSNR over a batch of NHWC uint8 images."""
    ya, yb = rgb_to_y(a_u8), rgb_to_y(b_u8)
    if border:
        ya, yb = ya[:, border:-border, border:-border], yb[:, border:-border, border:-border]
    mse = ((ya - yb) ** 2).reshape(len(ya), -1).mean(1)
    return float(np.mean(10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))))


def psnr_masked(a_u8, b_u8, mask):
    """Mean PSNR over a batch of NHWC uint8 images, on the RGB values of the pixels where mask (NHW) is 1."""
    m = mask.astype(bool)
    out = []
    for a, b, k in zip(a_u8, b_u8, m):
        mse = ((a[k].astype(np.float64) - b[k].astype(np.float64)) ** 2).mean()
        out.append(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))
    return float(np.mean(out))


def ssim_y(a_u8, b_u8, border=4):
    """Mean SSIM (Gaussian window 11, sigma 1.5, Wang et al. 2004) on the Y channel."""
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415
    ya, yb = rgb_to_y(a_u8), rgb_to_y(b_u8)
    if border:
        ya, yb = ya[:, border:-border, border:-border], yb[:, border:-border, border:-border]
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    g = torch.tensor(np.outer(g, g) / np.outer(g, g).sum())[None, None]
    x, y = torch.tensor(ya)[:, None], torch.tensor(yb)[:, None]
    f = lambda z: F.conv2d(z, g)  # noqa: E731  ('valid' window positions only)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx ** 2, f(y * y) - my ** 2, f(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean(dim=(1, 2, 3)).mean())
