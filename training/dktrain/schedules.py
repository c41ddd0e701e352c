"""Noise schedules, defined exactly as the SDK's schedulers must reproduce them (float64, then used as float32).

linear:  betas = linspace(betaStart, betaEnd, T)                        (Ho et al. 2020)
quad:    betas = linspace(sqrt(betaStart), sqrt(betaEnd), T) ** 2
cosine:  alpha_bar(s) = cos(((s + 0.008) / 1.008) * pi / 2) ** 2,        (Nichol & Dhariwal 2021)
         betas[i] = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999)   for i = 0..T-1
alphas_cumprod = cumprod(1 - betas). Timesteps are 0-based: x_t = sqrt(ac[t]) x0 + sqrt(1 - ac[t]) eps.
"""
import math

import numpy as np


def make_betas(kind, T=1000, beta_start=1e-4, beta_end=0.02):
    if kind == "linear":
        return np.linspace(beta_start, beta_end, T, dtype=np.float64)
    if kind == "quad":
        return np.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=np.float64) ** 2
    if kind == "cosine":
        f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=np.float64)
    raise ValueError(f"unknown schedule {kind}")


def alphas_cumprod(kind, T=1000, beta_start=1e-4, beta_end=0.02):
    return np.cumprod(1.0 - make_betas(kind, T, beta_start, beta_end))


def draw_timesteps(rng, n, steps, high_noise_frac=0.0, high_from=None):
    """Uniform t, except that a fraction of the batch is drawn from the noisy range [high_from, T) (default the
    noisier half). A few-step sampler only ever queries that range (with trailing spacing, 1 DDIM step is t = T-1
    alone, 2 steps T-1 and T/2-1), so it gets a larger share of training."""
    t = rng.integers(0, steps, size=n)
    high = rng.random(n) < high_noise_frac
    lo = steps // 2 if high_from is None else high_from
    t[high] = rng.integers(lo, steps, size=int(high.sum()))
    return t
