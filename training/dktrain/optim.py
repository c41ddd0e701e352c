"""The optimisation step and loss log shared by every training script."""
import json

import torch


@torch.no_grad()
def update_ema(ema, model, step, max_decay):
    """Decay ramps up as (1 + step) / (10 + step) so early averages are not dominated by the random initialisation;
    buffers (e.g. normalisation statistics) are copied, not averaged."""
    decay = min(max_decay, (1 + step) / (10 + step))
    ema_params = list(ema.parameters())
    torch._foreach_mul_(ema_params, decay)  # one fused launch per list instead of two per tensor (GPU runs)
    torch._foreach_add_(ema_params, [p.detach() for p in model.parameters()], alpha=1 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


def optimise(model, ema, opt, loss, step, lr, warmup, ema_decay):
    """One Adam step with linear warm-up and gradient clipping at 1, then the EMA update; returns the new step."""
    for group in opt.param_groups:
        group["lr"] = lr * min(1.0, (step + 1) / warmup)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    update_ema(ema, model, step + 1, ema_decay)
    return step + 1


class LossLog:
    """Averages the loss over every `every` steps, printing it and appending it to losses.jsonl."""

    def __init__(self, path, say, every=50):
        self.file = open(path, "a")
        self.say, self.every = say, every
        self.total, self.count = 0.0, 0

    def add(self, step, loss, train_seconds):
        self.total, self.count = self.total + loss, self.count + 1
        if step % self.every:
            return
        mean = self.total / self.count
        self.say(f"step {step} loss {mean:.5f} train-min {train_seconds / 60:.1f}")
        self.file.write(json.dumps({"step": step, "loss": mean, "wall": train_seconds}) + "\n")
        self.file.flush()
        self.total, self.count = 0.0, 0
