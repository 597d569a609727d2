"""The two-view training loop shared by the self-supervised methods (BYOL in Chapter 1; SimCLR and
SimSiam in Chapter 2).

Each step draws two augmented views of a batch on the device (the pipelines T and T'), computes
the method's ``model.loss(v1, v2)``, updates with the method's optimiser under a linear warm-up +
cosine learning-rate schedule (``base_lr * batch_size / 256`` at its peak), then calls the
method's ``after_step`` (BYOL's moving-average target). A model trained here has a step counter
buffer ``k`` (saved with its checkpoint) and an ``encoder`` property, the part kept after training.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable

import torch
from torch import nn

from .augment import Augment, normalize
from .data import ImageData
from .optim import warmup_cosine
from .train import Amp, fit


def train_two_view(model: nn.Module, opt: torch.optim.Optimizer, data: ImageData, cfg,
                   device: torch.device, seed: int = 0, checkpoint=None, desc: str = "SSL",
                   after_step: Callable[[int, int], dict] | None = None,
                   on_epoch_end: Callable[[int], dict] | None = None,
                   monitor: Callable[[nn.Module, int], dict] | None = None,
                   progress: bool = True) -> list[dict]:
    """Pre-train ``model`` on ``data.x_train`` (labels unused) and return the history.

    ``cfg`` supplies ``epochs``, ``batch_size``, ``base_lr``, ``warmup_epochs`` and the per-view
    ``blur_p`` and ``solarize_p``. ``after_step(k, total)`` runs after each update and returns
    extra metrics; ``on_epoch_end(epoch)`` adds the method's own per-epoch metrics. ``monitor(
    encoder, epoch)`` is the caller's probe: it is also called before the first update, and
    its result is the history's row with ``epoch`` 0. ``progress=False`` hides the bar. Optimiser groups with ``fixed_lr`` keep
    the peak rate (SimSiam's predictor, Chen & He 2021, Sec. 4.2).
    """
    views = [Augment(data.x_train.shape[-1], blur_p=b, solarize_p=s)
             for b, s in zip(cfg.blur_p, cfg.solarize_p)]  # T and T' (BYOL App. B, Table 6)
    amp = Amp(device)
    x, (mean, std) = data.x_train.to(device), data.mean_std
    steps_per_epoch = len(x) // cfg.batch_size
    total, warmup = cfg.epochs * steps_per_epoch, round(cfg.warmup_epochs * steps_per_epoch)
    peak_lr = cfg.base_lr * cfg.batch_size / 256

    def step(idx, g):
        k = int(model.k)
        lr = peak_lr * warmup_cosine(k, total, warmup)
        for group in opt.param_groups:
            group["lr"] = peak_lr if group.get("fixed_lr") else lr
        v1, v2 = (normalize(t(x[idx], g), mean, std) for t in views)
        with amp.autocast():
            loss = model.loss(v1, v2)
        amp.step(loss, opt)
        extra = after_step(k, total) if after_step else {}
        model.k += 1
        return {"loss": loss.detach(), **extra, "lr": lr}

    def epoch_end(epoch):
        out = on_epoch_end(epoch) if on_epoch_end else {}
        return {**out, **(monitor(model.encoder, epoch) if monitor else {})}

    first = [{"epoch": 0, **monitor(model.encoder, -1)}] if monitor else []
    history = fit({"model": model, "opt": opt, "amp": amp}, step, len(x), cfg.epochs,
                  cfg.batch_size, seed, device, checkpoint, epoch_end, desc=desc,
                  meta={**asdict(cfg), "data": data.describe(), "seed": seed}, progress=progress)
    return first + history
