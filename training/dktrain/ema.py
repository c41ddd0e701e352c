"""Exponential moving average of the weights: the exported weights of every reference model."""
import torch


@torch.no_grad()
def update_ema(ema, model, step, max_decay):
    """Decay ramps up as (1 + step) / (10 + step) so early averages are not dominated by the random initialisation;
    buffers (e.g. normalisation statistics) are copied, not averaged."""
    decay = min(max_decay, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)
