from dataclasses import dataclass

import torch

from rep_utils.data import ImageData
from rep_utils.simclr import SimCLR
from rep_utils.ssl import train_two_view

from conftest import TinyEncoder

CPU = torch.device("cpu")


@dataclass
class _Cfg:
    epochs: int = 8
    batch_size: int = 32
    base_lr: float = 0.4
    warmup_epochs: float = 1
    blur_p: tuple = (0.0, 0.0)
    solarize_p: tuple = (0.0, 0.0)


def _data():
    """96 8x8 grey images of 4 bar patterns with noise."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(96) % 4
    x = torch.zeros(96, 1, 8, 8)
    for c in range(4):
        x[y == c, :, 2 * c:2 * c + 2, :] = 1.0
    x = ((0.8 * x + 0.2 * torch.rand(x.shape, generator=g)) * 255).to(torch.uint8)
    return ImageData("mnist", "toy", x, y, x[:32], y[:32], list("abcd"))



def test_hooks_schedule_and_falling_loss():
    torch.manual_seed(0)
    model = SimCLR(TinyEncoder(64, 16), hidden_dim=16, out_dim=8, temperature=0.5)
    opt = torch.optim.SGD([{"params": model.encoder.parameters()},
                           {"params": model.projector.parameters(), "fixed_lr": True}], lr=0.0, momentum=0.9)
    cfg, seen, lrs = _Cfg(), [], []

    def after_step(k, total):
        seen.append((k, total))
        lrs.append([g["lr"] for g in opt.param_groups])
        return {"extra": float(k)}

    def monitor(encoder, epoch):
        assert encoder is model.encoder
        return {"probe": float(epoch)}

    history = train_two_view(model, opt, _data(), cfg, CPU, 0, None, "toy", after_step,
                             lambda epoch: {"own": 1.0}, monitor)
    total = cfg.epochs * 3  # 96 / 32 steps per epoch
    assert seen == [(k, total) for k in range(total)] and int(model.k) == total
    assert history[0] == {"epoch": 0, "probe": -1.0}  # before the first update
    assert [h["epoch"] for h in history] == list(range(cfg.epochs + 1))
    assert history[1]["probe"] == 0.0 and history[1]["own"] == 1.0 and history[1]["extra"] == 1.0
    peak = cfg.base_lr * cfg.batch_size / 256
    assert lrs[0] == [0.0, peak] and lrs[3] == [peak, peak]  # warm-up over 3 steps; projector fixed
    assert 0 < lrs[-1][0] < 0.01 * peak and lrs[-1][1] == peak
    assert history[-1]["loss"] < history[1]["loss"] - 0.2


def test_resized_keeps_labels_and_matches_interpolate():
    data = _data()
    small = data.resized(4)
    assert small.x_train.shape == (96, 1, 4, 4) and small.x_train.dtype == torch.uint8
    assert torch.equal(small.y_train, data.y_train) and data.resized(8) is data
    flat = ImageData("mnist", "toy", torch.full((3, 1, 8, 8), 77, dtype=torch.uint8), torch.arange(3),
                     torch.full((2, 1, 8, 8), 200, dtype=torch.uint8), torch.arange(2), list("abc"))
    assert (flat.resized(3).x_train == 77).all() and (flat.resized(3).x_test == 200).all()
