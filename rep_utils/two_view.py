"""The two-view training loop shared by the self-supervised methods (BYOL in Chapter 1; SimCLR,
MoCo v2 and SimSiam in Chapter 2).

Each step draws two augmented views of a batch on the device (the pipelines T and T'), computes
the method's ``model.loss(v1, v2)``, updates with the method's optimiser under a linear warm-up +
cosine learning-rate schedule (``base_lr * batch_size / 256`` at its peak), then calls the
method's ``after_step`` (BYOL's moving-average target). A model trained here needs ``loss`` and an
``encoder`` property (the part kept after training); the step count comes from the loop.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, ClassVar

import torch
from torch import nn

from .augment import Augment
from .checks import validate_config
from .data import ImageData, normalize
from .optim import warmup_cosine
from .profiles import by_profile
from .train import Amp, fit

# The CPU and T4 budgets every two-view method shares (Chapter 2 compares them at equal budgets):
# ci trains a small CNN on 4,096 CIFAR-10 images at 16x16 in a minute; colab a ResNet-18 at 32x32.
BUDGET = {"ci": dict(backbone="small_cnn", n_train=4096, n_test=1000, image_size=16, batch_size=128,
                     warmup_epochs=1),
          "colab": dict(batch_size=256, warmup_epochs=1),
          "full": {}}


@dataclass
class TwoViewConfig:
    """The fields :func:`train_two_view` reads; each method's config adds its own and sets the
    paper's defaults. ``for_profile("full")`` is the paper's recipe; ci and colab apply the
    method's tested short-run recipe (``short``), the shared :data:`BUDGET` and the method's own
    per-profile changes (``budget``), in that order."""

    backbone: str = "resnet18"
    n_train: int | None = None  # None: all the training images that were loaded
    n_test: int | None = None
    image_size: int = 32
    epochs: int = 1000
    batch_size: int = 512
    base_lr: float = 0.3  # scaled by batch_size / 256
    momentum: float = 0.9
    weight_decay: float = 1e-6
    warmup_epochs: float = 10
    blur_p: tuple[float, float] = (0.0, 0.0)  # blur is dropped on 32x32 images
    solarize_p: tuple[float, float] = (0.0, 0.0)

    short: ClassVar[dict] = {}
    budget: ClassVar[dict] = {"ci": {}, "colab": {}}

    __post_init__ = validate_config  # types and ranges checked when the config is built

    @classmethod
    def for_profile(cls, profile: str):
        if by_profile(BUDGET, profile) == {}:  # full: the paper's recipe
            return cls()
        return replace(cls(), **{**cls.short, **BUDGET[profile], **cls.budget[profile]})


def train_two_view(model: nn.Module, opt: torch.optim.Optimizer, data: ImageData, cfg, *,
                   device: torch.device, seed: int = 0, checkpoint=None, desc: str = "SSL",
                   after_step: Callable[[int, int], dict] | None = None,
                   on_epoch_end: Callable[[int], dict] | None = None,
                   monitor: Callable[[nn.Module, int], dict] | None = None,
                   constant_lr_groups: tuple[int, ...] = (), progress: bool = True) -> list[dict]:
    """Pre-train ``model`` on ``data.x_train`` (labels unused) and return the history.

    ``cfg`` is a :class:`TwoViewConfig`; the run trains on ``data.for_config(cfg)``.
    ``after_step(k, total)`` runs after update ``k`` and returns extra metrics;
    ``on_epoch_end(epoch)`` adds the method's own per-epoch metrics and
    ``monitor(encoder, epoch)`` the caller's probe. Both are also called before the first update
    (with ``epoch = -1``): their values are the history's row with ``epoch`` 0. The optimiser
    groups listed in ``constant_lr_groups`` keep the peak rate (SimSiam's predictor, Chen & He
    2021, Sec. 4.2). ``progress=False`` hides the bar.
    """
    data = data.for_config(cfg)
    views = [Augment(data.x_train.shape[-1], blur_p=b, solarize_p=s)
             for b, s in zip(cfg.blur_p, cfg.solarize_p)]  # T and T' (BYOL App. B, Table 6)
    amp = Amp(device)
    x, (mean, std) = data.x_train.to(device), data.mean_std
    steps_per_epoch = len(x) // cfg.batch_size
    total, warmup = cfg.epochs * steps_per_epoch, round(cfg.warmup_epochs * steps_per_epoch)
    peak_lr = cfg.base_lr * cfg.batch_size / 256

    def schedule(k):
        return warmup_cosine(k, total, warmup)

    # One factor per optimiser group, a pure function of the step the loop passes in: nothing to
    # checkpoint, and (unlike LambdaLR) no warning when fp16 loss scaling skips an update.
    factors = [(lambda k: 1.0) if i in constant_lr_groups else schedule for i in range(len(opt.param_groups))]

    def step(idx, g, k):
        lr = peak_lr * schedule(k)
        for group, factor in zip(opt.param_groups, factors):
            group["lr"] = peak_lr * factor(k)
        v1, v2 = (normalize(t(x[idx], g), mean, std) for t in views)
        with amp.autocast():
            loss = model.loss(v1, v2)
        amp.step(loss, opt)
        extra = after_step(k, total) if after_step else {}
        return {"loss": loss.detach(), **extra, "lr": lr}

    def epoch_end(epoch):
        out = on_epoch_end(epoch) if on_epoch_end else {}
        return {**out, **(monitor(model.encoder, epoch) if monitor else {})}

    first = ([{"epoch": 0, **(monitor(model.encoder, -1) if monitor else {}),
               **(on_epoch_end(-1) if on_epoch_end else {})}] if monitor or on_epoch_end else [])
    history = fit({"model": model, "opt": opt, "amp": amp}, step, n=len(x),
                  epochs=cfg.epochs, batch_size=cfg.batch_size, seed=seed, device=device,
                  checkpoint=checkpoint, on_epoch_end=epoch_end, desc=desc,
                  meta={**asdict(cfg), "data": data.describe(), "seed": seed}, progress=progress)
    return first + history
