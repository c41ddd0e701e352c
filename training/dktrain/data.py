"""In-memory patch sampler over the prepared uint8 arrays (see training/data/prepare.py)."""
import os

import numpy as np

from . import CACHE

PREP = os.path.join(CACHE, "prepared")


def load_split(domain, split):
    name = {"train": f"{domain}_train_p96", "val": f"{domain}_val_c128", "test": f"{domain}_test_c256"}[split]
    path = os.path.join(PREP, name + ".npy")
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run training/data/fetch.py and training/data/prepare.py")
    return np.load(path)


class PatchSampler:
    """Random crops with the 8 dihedral augmentations; each batch draws domains with the given weights."""

    def __init__(self, domains=("aerial", "photo"), weights=None, crop=64, seed=0):
        self.arrays = [load_split(d, "train") for d in domains]
        self.domains = domains
        self.weights = np.array(weights or [1.0] * len(domains), dtype=np.float64)
        self.weights /= self.weights.sum()
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n):
        dom = self.rng.choice(len(self.arrays), size=n, p=self.weights)
        out = np.empty((n, self.crop, self.crop, 3), np.uint8)
        for i, d in enumerate(dom):
            a = self.arrays[d]
            p = a[self.rng.integers(len(a))]
            y, x = self.rng.integers(0, p.shape[0] - self.crop + 1, size=2)
            c = p[y:y + self.crop, x:x + self.crop]
            k = self.rng.integers(8)
            c = np.rot90(c, k % 4)
            if k >= 4:
                c = c[:, ::-1]
            out[i] = c
        return out
