"""Run bookkeeping shared by the training scripts: the device, weights-only starting points, and the fp16 EMA
checkpoint (the format of training/checkpoints/*.fp16.pt) written beside every full checkpoint."""
import copy
import os

import torch


def pick_device(name):
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to PyTorch")
    if name == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return torch.device(name)


def move_run(dev, model, ema, opt):
    """Puts the model, its frozen EMA copy and the optimiser's state (restored on the CPU) on the training device."""
    model.to(dev)
    ema.to(dev)
    for state in opt.state.values():
        for k, v in state.items():
            if torch.is_tensor(v):
                state[k] = v.to(dev)
    for q in ema.parameters():
        q.requires_grad_(False)


def load_init(path):
    """A weights-only fp16 checkpoint -> (float32 EMA state dict, the history of the runs that produced it)."""
    st = torch.load(path, map_location="cpu")
    weights = {k: v.float() for k, v in st["ema"].items()}
    history = st.get("history") or [{"hardware": "2 CPU threads (Debian PyTorch 1.13)", "steps": st.get("step"),
                                     "batch": 16, "minutes": round((st.get("wall") or 0) / 60, 1)}]
    return weights, history


def cpu_copy(module):
    return copy.deepcopy(module).to("cpu")


def save_fp16(path, ema, config, step, wall, history, schedule=None):
    half = {"ema": {k: v.detach().to("cpu").half() for k, v in ema.state_dict().items()}, "config": config,
            "step": step, "wall": wall, "schedule": schedule, "history": history}
    torch.save(half, path + ".tmp")
    os.replace(path + ".tmp", path)
