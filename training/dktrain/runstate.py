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


def run_logger(run_dir):
    """Creates the run's folder; returns a function that prints a line and appends it to the run's log.txt."""
    os.makedirs(run_dir, exist_ok=True)
    log = open(os.path.join(run_dir, "log.txt"), "a")

    def say(*xs):
        s = " ".join(str(x) for x in xs)
        print(s, flush=True)
        log.write(s + "\n")
        log.flush()

    return say


def restore_run(ckpt_path, model, ema, opt, init, say):
    """Resumes a run from its full checkpoint (model, EMA, optimiser, step count, history); without one, a new run
    starts, from a weights-only checkpoint when init names one. Returns (step, wall seconds, history, resumed).
    A new run's EMA copy is left to the caller, which may change the model first (e.g. zero its output layer)."""
    if os.path.exists(ckpt_path):
        st = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        say(f"resumed {ckpt_path} at step {st['step']}, {st['wall'] / 60:.1f} train-minutes so far")
        return st["step"], st["wall"], st.get("history", []), True
    history = []
    if init:
        weights, history = load_init(init)
        load_growing(model, weights, say)
        say(f"initialised from {init} ({history})")
    return 0, 0.0, history, False


def add_refine_argument(parser):
    """The trainers' --refine option (dktrain/unet.py's refinement blocks; resolved by saved_refine when absent)."""
    parser.add_argument("--refine", type=int, default=None,
                        help="refinement blocks per decoder level (dktrain/unet.py); with --init of a model without "
                             "them, the model grows and starts out computing what it did (default: as many as the run "
                             "or the --init weights have)")


def add_high_noise_arguments(parser):
    """The trainers' --high-noise-frac / --high-from options (dktrain/schedules.py draw_timesteps)."""
    parser.add_argument("--high-noise-frac", type=float, default=0.0,
                        help="share of each batch with t drawn from [--high-from, T) instead of [0, T) (recorded in "
                             "history)")
    parser.add_argument("--high-from", type=int, default=None,
                        help="first timestep of the noisy range (default T/2); 900 concentrates on what 1-step DDIM "
                             "queries")


def high_noise_record(args, steps):
    """The run-history entry of those options, or None when unused."""
    if not args.high_noise_frac:
        return None
    return {"frac": args.high_noise_frac, "from_t": args.high_from or steps // 2}


def saved_refine(ckpt_path, init):
    """The refinement-block count (dktrain/unet.py) of the run being resumed, else of the --init weights, else 0: a
    grown model resumes as grown without the flag being repeated."""
    for path in (ckpt_path, init):
        if path and os.path.exists(path):
            return torch.load(path, map_location="cpu").get("config", {}).get("refine", 0)
    return 0


def load_growing(model, weights, say):
    """Loads weights into the same architecture, or into one grown by refinement blocks (dktrain/unet.py, refine):
    those start as the identity, so the grown model computes what the weights' model did."""
    missing, unexpected = model.load_state_dict(weights, strict=False)
    foreign = [k for k in missing if ".refine." not in k] + list(unexpected)
    if foreign:
        raise SystemExit(f"--init does not fit this architecture beyond new refinement blocks: {foreign[:6]}")
    if missing:
        say(f"grown by refinement blocks: {len(missing)} new tensors, identity at the start")


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
