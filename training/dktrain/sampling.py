"""Reference samplers in numpy, written to match the SDK's formulae exactly (float32 state, float64 schedule).

DDIM (Song et al. 2021), eta = 0 by default:
  timesteps, "trailing": round(arange(T, 0, -T/S)) - 1   e.g. S=10 -> 999, 899, ..., 99
             "leading":  arange(S) * (T // S), reversed    e.g. S=10 -> 900, 800, ..., 0
             "linspace": round(linspace(0, T - 1, S)), reversed  e.g. S=10 -> 999, 888, ..., 0
  per step t with previous step p (ac_p = 1 after the last step):
    model output -> x0_hat, eps_hat   (x0: eps = (x - sqrt(ac_t) x0) / sqrt(1 - ac_t);
                                        eps: x0 = (x - sqrt(1 - ac_t) eps) / sqrt(ac_t);
                                        v:  x0 = sqrt(ac_t) x - sqrt(1 - ac_t) v, eps = sqrt(1 - ac_t) x + sqrt(ac_t) v)
    if clipX0: x0_hat = clip(x0_hat, -1, 1)   (eps_hat is computed from the unclipped x0_hat, as diffusers does)
    sigma = eta * sqrt((1 - ac_p) / (1 - ac_t)) * sqrt(1 - ac_t / ac_p)
    x_p = sqrt(ac_p) x0_hat + sqrt(1 - ac_p - sigma^2) eps_hat + sigma z
  The sample is x after the last step (== x0_hat of the last step when eta = 0).
Inpainting (known = (image, mask), mask 1 = hole): after every step the known pixels are replaced by the known image
noised to the next level, x_p = sqrt(ac_p) image + sqrt(1 - ac_p) z with fresh z (RePaint), so after the last step
they equal the image exactly.
Noise input to the network: "sqrt-alpha-bar" -> sqrt(ac_t); "alpha-bar" -> ac_t; "timestep" -> t (float32).
"""
import numpy as np


def ddim_timesteps(S, T=1000, spacing="trailing"):
    if spacing == "trailing":
        return (np.round(np.arange(T, 0, -T / S)).astype(np.int64) - 1)
    if spacing == "leading":
        return (np.arange(S) * (T // S))[::-1].astype(np.int64)
    if spacing == "linspace":
        return (np.round(np.linspace(0, T - 1, S)) if S > 1 else np.array([T - 1]))[::-1].astype(np.int64)
    raise ValueError(spacing)


def noise_input(kind, ac, t, n):
    v = {"sqrt-alpha-bar": np.sqrt(ac[t]), "alpha-bar": ac[t], "timestep": float(t)}[kind]
    return np.full([n], v, dtype=np.float32)


def ddim_sample(model_fn, shape, ac, steps, prediction="x0", noise_kind="sqrt-alpha-bar", clip=True, eta=0.0,
                spacing="trailing", seed=0, known=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    ts = ddim_timesteps(steps, len(ac), spacing)
    for i, t in enumerate(ts):
        ac_t = ac[t]
        ac_p = ac[ts[i + 1]] if i + 1 < len(ts) else 1.0
        out = model_fn(x, noise_input(noise_kind, ac, t, shape[0])).astype(np.float64)
        xd = x.astype(np.float64)
        if prediction == "x0":
            x0 = out
            eps = (xd - np.sqrt(ac_t) * x0) / np.sqrt(1 - ac_t)
        elif prediction == "eps":
            eps = out
            x0 = (xd - np.sqrt(1 - ac_t) * eps) / np.sqrt(ac_t)
        else:
            x0 = np.sqrt(ac_t) * xd - np.sqrt(1 - ac_t) * out
            eps = np.sqrt(1 - ac_t) * xd + np.sqrt(ac_t) * out
        if clip:
            x0 = np.clip(x0, -1, 1)
        sigma = eta * np.sqrt((1 - ac_p) / (1 - ac_t)) * np.sqrt(1 - ac_t / ac_p)
        x = np.sqrt(ac_p) * x0 + np.sqrt(max(1 - ac_p - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * rng.standard_normal(shape)
        if known is not None:
            image, mask = known
            x = mask * x + (1 - mask) * (np.sqrt(ac_p) * image + np.sqrt(1 - ac_p) * rng.standard_normal(shape))
        x = x.astype(np.float32)
    return x
