"""One small, fully convolutional UNet shared by every diffusekit model (SR3, SRDiff, Palette, DDPM).

Design: sinusoidal noise-level/timestep embedding -> MLP; ResBlocks (GroupNorm, SiLU, 3x3 convs, the embedding
added between the convs); strided-conv downsampling, nearest-neighbour x2 + conv upsampling; skip connections by
concatenation. No attention, so the network runs on any N/H/W that is a multiple of 2**(levels-1).
`forward` can also return named decoder activations ("dec<level>", finest = dec0) for segmentation features.

refine > 0 appends that many ResBlocks (channels in = out, no skip input) to every decoder level. Their last conv
starts at zero, so each starts as the identity: a trained network grows into one with these blocks
(`load_state_dict(..., strict=False)`) and still computes exactly what it did, then trains the new capacity.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim, max_period=10000.0):
    """t: float [N] (a timestep 0..T-1 or a scaled noise level). Returns [N, dim] sin/cos features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def norm(c):
    return nn.GroupNorm(min(8, c // 4), c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, dropout=0.0):
        super().__init__()
        self.n1 = norm(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)  # scale and shift (FiLM) after the second norm
        self.n2 = norm(cout)
        self.drop = nn.Dropout(dropout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(self.drop(F.silu(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    def __init__(self, in_ch, out_ch, base=32, mults=(1, 2, 4, 4), blocks=1, emb_scale=1.0, dropout=0.0, unshuffle=1,
                 refine=0):
        super().__init__()
        # unshuffle > 1: space-to-depth stem / depth-to-space head, so the first level already runs at 1/unshuffle
        # resolution (4x fewer full-resolution FLOPs for unshuffle=2; the CPU budget is spent on depth instead).
        self.unshuffle = unshuffle
        in_ch, self.out_ch = in_ch * unshuffle ** 2, out_ch
        out_ch = out_ch * unshuffle ** 2
        self.base, self.emb_scale = base, emb_scale
        emb_dim = base * 4
        self.emb_mlp = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cin = nn.Conv2d(in_ch, base, 3, padding=1)
        chans = [base * m for m in mults]
        self.levels = len(mults)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [base]
        c = base
        for i, ch in enumerate(chans):
            blks = nn.ModuleList()
            for _ in range(blocks):
                blks.append(ResBlock(c, ch, emb_dim, dropout))
                c = ch
                skips.append(c)
            self.down.append(blks)
            if i < self.levels - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, emb_dim, dropout), ResBlock(c, c, emb_dim, dropout)])
        self.up = nn.ModuleList()
        self.refine = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, ch in reversed(list(enumerate(chans))):
            blks = nn.ModuleList()
            for _ in range(blocks + 1):
                blks.append(ResBlock(c + skips.pop(), ch, emb_dim, dropout))
                c = ch
            self.up.append(blks)
            self.refine.append(nn.ModuleList(ResBlock(c, c, emb_dim, dropout) for _ in range(refine)))
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.out_norm = norm(c)
        self.cout = nn.Conv2d(c, out_ch, 3, padding=1)
        nn.init.zeros_(self.cout.weight)
        nn.init.zeros_(self.cout.bias)
        self.multiple = unshuffle * 2 ** (self.levels - 1)

    def forward(self, x, t, return_features=False):
        emb = self.emb_mlp(timestep_embedding(t * self.emb_scale, self.base))
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        h = self.cin(x)
        hs = [h]
        for i, blks in enumerate(self.down):
            for b in blks:
                h = b(h, emb)
                hs.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
                hs.append(h)
        for b in self.mid:
            h = b(h, emb)
        feats = {}
        for j, blks in enumerate(self.up):
            for b in blks:
                h = b(torch.cat([h, hs.pop()], dim=1), emb)
            for b in self.refine[j]:
                h = b(h, emb)
            level = self.levels - 1 - j
            feats[f"dec{level}"] = h
            if j < self.levels - 1:
                h = self.upsample[j](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        out = self.cout(F.silu(self.out_norm(h)))
        if self.unshuffle > 1:
            out = F.pixel_shuffle(out, self.unshuffle)
        return (out, feats) if return_features else out


def count_params(m):
    return sum(p.numel() for p in m.parameters())
