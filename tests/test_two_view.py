from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from rep_utils.optim import warmup_cosine
from rep_utils.simclr import SimCLR
from rep_utils.two_view import BUDGET, TwoViewConfig, train_two_view

CPU = torch.device("cpu")


@dataclass
class _Cfg(TwoViewConfig):
    image_size: int = 8
    epochs: int = 8
    batch_size: int = 32
    base_lr: float = 0.4
    warmup_epochs: float = 1

    budget: ClassVar[dict] = {"ci": dict(epochs=2), "colab": {}}
    short: ClassVar[dict] = dict(base_lr=0.1, epochs=5)


def test_hooks_schedule_and_falling_loss(toy_images, tiny_encoder):
    model = SimCLR(tiny_encoder(64, 16), hidden_dim=16, out_dim=8, temperature=0.5)
    opt = torch.optim.SGD([{"params": model.encoder.parameters()}, {"params": model.projector.parameters()}],
                          lr=0.0, momentum=0.9)
    cfg, seen, lrs = _Cfg(), [], []

    def after_step(k, total):
        seen.append((k, total))
        lrs.append([g["lr"] for g in opt.param_groups])
        return {"extra": float(k)}

    def monitor(encoder, epoch):
        assert encoder is model.encoder
        return {"probe": float(epoch)}

    history = train_two_view(model, opt, toy_images, cfg, device=CPU, desc="toy", after_step=after_step,
                             on_epoch_end=lambda epoch: {"own": float(epoch)}, monitor=monitor,
                             constant_lr_groups=(1,), progress=False)
    total = cfg.epochs * 3  # 96 / 32 steps per epoch
    assert seen == [(k, total) for k in range(total)]
    assert history[0] == {"epoch": 0, "probe": -1.0, "own": -1.0}  # before the first update
    assert [h["epoch"] for h in history] == list(range(cfg.epochs + 1))
    assert history[1]["probe"] == 0.0 and history[1]["own"] == 0.0 and history[1]["extra"] == 1.0
    peak = cfg.base_lr * cfg.batch_size / 256
    assert lrs[0] == [0.0, peak] and lrs[3] == [peak, peak]  # warm-up over 3 steps; projector fixed
    assert lrs[-1] == [pytest.approx(peak * warmup_cosine(total - 1, total, 3)), peak]
    assert history[-1]["lr"] == pytest.approx(peak * sum(warmup_cosine(k, total, 3) for k in (21, 22, 23)) / 3)
    assert history[-1]["loss"] < history[1]["loss"] - 0.2


def test_for_profile_applies_short_recipe_then_budget_then_the_methods_own():
    ci, colab, full = (_Cfg.for_profile(p) for p in ("ci", "colab", "full"))
    assert full == _Cfg()
    assert (ci.base_lr, ci.epochs, ci.n_train, ci.batch_size) == (0.1, 2, BUDGET["ci"]["n_train"], 128)
    assert (colab.base_lr, colab.epochs, colab.batch_size, colab.n_train) == (0.1, 5, 256, None)
    with pytest.raises(ValueError, match="choose one of"):
        _Cfg.for_profile("bogus")


def test_the_run_subsets_and_resizes_the_data_itself(toy_images, tiny_encoder):
    """A config with n_train, n_test and image_size trains on that data however the caller
    passes it: 64 of the 96 images at 4x4 (2 steps per epoch of 32)."""
    model = SimCLR(tiny_encoder(16, 8), hidden_dim=8, out_dim=4, temperature=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    cfg, steps = _Cfg(n_train=64, n_test=16, image_size=4, epochs=1), []
    train_two_view(model, opt, toy_images, cfg, device=CPU, after_step=lambda k, total: steps.append(total) or {},
                   progress=False)
    assert steps == [2, 2]
