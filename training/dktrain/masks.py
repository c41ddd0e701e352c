"""Inpainting masks: 1 marks the hole to fill, 0 a known pixel. Every draw comes from the numpy Generator passed in,
so a seed fixes the masks.

box      1 or 2 axis-aligned rectangles, each side uniform in [size/8, size/2]
strokes  free-form brush strokes in the manner of DeepFill v2 / Palette's irregular masks: 1-4 strokes, each a
         polyline of 2-6 segments of length [size/8, size/3] turning by up to 90 degrees, brush width uniform in
         [size/24, size/8], round joints
mixed    box or strokes with equal probability (what palette-inpaint trains on)

`size` is the scale of the shapes, by default the image's shorter side (training: 64-pixel crops). Evaluations on
larger images pass the training size, so the holes they test are the size the model learnt to fill. A mask is redrawn
until its hole covers 3-60 % of size x size pixels, so no training example is all-known or all-hole.
"""
import math

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("box", "strokes")
MIN_COVER, MAX_COVER = 0.03, 0.60


def _boxes(rng, h, w, size):
    m = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(1, 3)):
        bh = int(rng.integers(max(1, size // 8), max(2, size // 2) + 1))
        bw = int(rng.integers(max(1, size // 8), max(2, size // 2) + 1))
        y = int(rng.integers(0, h - bh + 1))
        x = int(rng.integers(0, w - bw + 1))
        m[y:y + bh, x:x + bw] = 1
    return m


def _strokes(rng, h, w, size):
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(1, 5)):
        width = int(rng.integers(max(1, size // 24), max(2, size // 8) + 1))
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        angle = float(rng.uniform(0, 2 * math.pi))
        points = [(x, y)]
        for _ in range(rng.integers(2, 7)):
            angle += float(rng.uniform(-math.pi / 2, math.pi / 2))
            length = float(rng.uniform(size / 8, size / 3))
            x = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
            y = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
            points.append((x, y))
        draw.line(points, fill=255, width=width)
        r = width / 2
        for px, py in points:
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return (np.asarray(img) > 127).astype(np.float32)


def make_mask(rng, h, w, kind="mixed", size=None):
    """One (h, w) float32 mask of 0/1; kind is box, strokes or mixed."""
    if kind not in KINDS + ("mixed",):
        raise ValueError(f"unknown mask kind {kind}")
    size = size or min(h, w)
    if size > min(h, w):
        raise ValueError(f"shape size {size} exceeds the image {w}x{h}")
    while True:
        k = KINDS[rng.integers(2)] if kind == "mixed" else kind
        m = _boxes(rng, h, w, size) if k == "box" else _strokes(rng, h, w, size)
        if MIN_COVER <= m.sum() / (size * size) <= MAX_COVER:
            return m


def mask_batch(rng, n, h, w, kind="mixed", size=None):
    """(n, 1, h, w) float32 masks."""
    return np.stack([make_mask(rng, h, w, kind, size) for _ in range(n)])[:, None]
