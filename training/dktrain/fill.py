"""A smooth fill of image holes computed inside the model graph (palette-inpaint >= 0.2).

Coarse to fine: the known pixels are averaged down a pyramid (each cell holds the mean of the known pixels under it),
the coarsest level gives every empty cell the image's known mean, then each finer level starts its hole from the
coarser level (bilinear) and relaxes it with Jacobi sweeps of the 4-neighbour Laplace equation, the known values held
fixed. It approaches the harmonic fill (Laplace's equation in the hole with the known pixels as boundary values,
Neumann at the image border) in a fixed, small amount of work, and exports to ONNX with dynamic H and W (multiples of
2**levels), so training and inference share one implementation.
"""
import torch
import torch.nn.functional as F


def _neighbour_sum(v):
    """Sum of the 4 neighbours, 0 outside the image (shifted slices: any channel count, dynamic H and W in ONNX)."""
    p = F.pad(v, (1, 1, 1, 1))
    return p[:, :, :-2, 1:-1] + p[:, :, 2:, 1:-1] + p[:, :, 1:-1, :-2] + p[:, :, 1:-1, 2:]


def _relax(v, fixed, fixed_values, sweeps):
    """Jacobi sweeps on the cells where fixed == 0 (weights: 4-neighbour mean, fewer at the border)."""
    count = _neighbour_sum(torch.ones_like(v[:, :1]))
    for _ in range(sweeps):
        v = fixed * fixed_values + (1 - fixed) * _neighbour_sum(v) / count
    return v


def membrane_fill(img, hole, levels=4, sweeps=(24, 16, 16, 16, 32)):
    """img N×C×H×W (values under the hole are ignored), hole N×1×H×W (1 = hole). Returns img with the hole filled.
    sweeps[i] is the number of Jacobi sweeps at level i (0 = full resolution)."""
    known = 1 - hole
    sums, weights = [img * known], [known]
    for _ in range(levels):
        sums.append(F.avg_pool2d(sums[-1], 2))
        weights.append(F.avg_pool2d(weights[-1], 2))
    eps = 1e-6
    total_w = known.sum((2, 3), keepdim=True)
    known_mean = sums[0].sum((2, 3), keepdim=True) / total_w.clamp_min(eps)  # 0 (mid-grey) if nothing is known
    v = None
    for lvl in range(levels, -1, -1):
        w = weights[lvl]
        fixed = (w > eps).to(img.dtype)
        own = sums[lvl] / w.clamp_min(eps)
        start = known_mean.expand_as(own) if v is None else F.interpolate(
            v, size=own.shape[-2:], mode="bilinear", align_corners=False)
        v = fixed * own + (1 - fixed) * start
        v = _relax(v, fixed, own, sweeps[lvl])
    return img * known + v * hole
