"""SimSiam: exploring simple Siamese representation learning (Chen & He, 2021, arXiv:2011.10566),
Chapter 2.

BYOL without the moving-average target: both branches share one encoder f and projector, a
predictor h maps one view's projection z1 to p1, which regresses the other view's projection
z2 with a stop-gradient on z2. No negatives, no momentum encoder; the stop-gradient alone keeps
the outputs from collapsing to a constant (Sec. 4.1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageData
from .models import make_backbone
from .two_view import TwoViewConfig, train_two_view


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Eq. 1 with the stop-gradient of Eq. 3: D(p, stopgrad(z)) = -<p/||p||, z/||z||>, batch mean."""
    return -F.cosine_similarity(p, z.detach(), dim=-1).mean()


def projector(in_dim: int, dim: int) -> nn.Sequential:
    """Sec. 3 (Baseline settings): 3 fc layers of width ``dim``, BN after each (also the output,
    which has no ReLU)."""
    layers = []
    for d_in in (in_dim, dim):
        layers += [nn.Linear(d_in, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.Linear(dim, dim, bias=False), nn.BatchNorm1d(dim, affine=False))


def predictor(dim: int, hidden_dim: int) -> nn.Sequential:
    """Sec. 3: a bottleneck of 2 fc layers, BN and ReLU on the hidden layer, none on the output."""
    return nn.Sequential(nn.Linear(dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                         nn.ReLU(inplace=True), nn.Linear(hidden_dim, dim))


class SimSiam(nn.Module):
    """``encoder`` f, ``projector`` (the paper puts it inside f; we keep f = the backbone, the part
    kept after training) and ``predictor`` h."""

    def __init__(self, encoder: nn.Module, dim: int = 2048, pred_dim: int = 512):
        super().__init__()
        self.encoder = encoder
        self.projector = projector(encoder.feature_dim, dim)
        self.predictor = predictor(dim, pred_dim)

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """Eq. 4 (Algorithm 1): L = 1/2 D(p1, sg(z2)) + 1/2 D(p2, sg(z1)), in [-1, 1]."""
        z1, z2 = self.projector(self.encoder(v1)), self.projector(self.encoder(v2))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)


@dataclass
class SimSiamConfig(TwoViewConfig):
    """``full``: the paper's optimiser (Sec. 3: SGD, lr 0.05 x batch/256, momentum 0.9, wd 1e-4,
    cosine decay, predictor at a fixed lr as in the official code's ``--fix-pred-lr``). colab and
    ci: solo-learn's tested CIFAR-10 recipe (SGD lr 0.5, wd 1e-5, warm-up cosine, 2048-d
    projector, 512-d predictor), shortened as in the BYOL chapter."""

    epochs: int = 800
    base_lr: float = 0.05  # SGD, scaled by batch_size / 256
    weight_decay: float = 1e-4
    warmup_epochs: float = 0
    dim: int = 2048
    pred_dim: int = 512
    fix_pred_lr: bool = True

    short: ClassVar[dict] = dict(base_lr=0.5, weight_decay=1e-5, warmup_epochs=1, fix_pred_lr=False)
    budget: ClassVar[dict] = {"ci": dict(epochs=3, dim=512, pred_dim=128), "colab": dict(epochs=6)}


def train_simsiam(data: ImageData, cfg: SimSiamConfig, device: torch.device, seed: int = 0,
                  checkpoint=None, desc: str = "SimSiam", monitor=None,
                  progress: bool = True) -> tuple[SimSiam, list[dict]]:
    """Pre-train on ``data.x_train`` (labels unused) with :func:`rep_utils.two_view.train_two_view`."""
    torch.manual_seed(seed)
    model = SimSiam(make_backbone(cfg.backbone, data.x_train.shape[1]), cfg.dim, cfg.pred_dim).to(device)
    rest = [p for n, p in model.named_parameters() if not n.startswith("predictor.")]
    opt = torch.optim.SGD([{"params": rest}, {"params": model.predictor.parameters()}],
                          lr=0.0, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    history = train_two_view(model, opt, data, cfg, device=device, seed=seed, checkpoint=checkpoint,
                             desc=desc, monitor=monitor, constant_lr_groups=(1,) if cfg.fix_pred_lr else (),
                             progress=progress)
    return model, history
