"""SimCLR: contrastive learning of visual representations (Chen, Kornblith, Norouzi & Hinton,
2020, arXiv:2002.05709), Chapter 2.

Two views of each of N images go through an encoder f and a projector g; each projection must
pick out its partner among the other 2N - 1 projections of the batch (one positive, 2N - 2
negatives) by cosine similarity at temperature tau: the NT-Xent loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageData
from .models import make_backbone, mlp
from .optim import LARS, lars_param_groups
from .two_view import TwoViewConfig, train_two_view


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 1 averaged over all 2N anchors (Algorithm 1): for the pair (i, j),
    l(i, j) = -log exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau),
    with sim the cosine similarity and k running over both views of the batch."""
    z = F.normalize(torch.cat([z1, z2]), dim=1).float()
    n = len(z1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))  # k != i: an anchor is never its own candidate
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, partner)


class SimCLR(nn.Module):
    """Encoder f and projector g (Sec. 2.1: the loss sees z = g(f(x)); f(x) is kept)."""

    def __init__(self, encoder: nn.Module, hidden_dim: int = 2048, out_dim: int = 128,
                 temperature: float = 0.5):
        super().__init__()
        self.encoder = encoder
        self.projector = mlp(encoder.feature_dim, hidden_dim, out_dim)
        self.temperature = temperature

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """Both views in one batch, so BN statistics are shared (as in the official code)."""
        z1, z2 = self.projector(self.encoder(torch.cat([v1, v2]))).chunk(2)
        return nt_xent(z1, z2, self.temperature)


@dataclass
class SimCLRConfig(TwoViewConfig):
    """``full``: the paper's recipe (LARS, lr 0.3 x batch/256, wd 1e-6, 10 warm-up epochs) with the
    temperature of its CIFAR-10 runs (App. B.9; blur is left out on CIFAR). colab and ci:
    solo-learn's tested CIFAR-10 recipe (LARS lr 0.4, eta 0.02, wd 1e-4, tau 0.2, 2048-256
    projector), shortened as in the BYOL chapter."""

    hidden_dim: int = 2048
    out_dim: int = 128
    temperature: float = 0.5
    eta: float = 1e-3  # LARS trust coefficient

    short: ClassVar[dict] = dict(base_lr=0.4, eta=0.02, weight_decay=1e-4, temperature=0.2, out_dim=256)
    budget: ClassVar[dict] = {"ci": dict(epochs=3, hidden_dim=512, out_dim=128), "colab": dict(epochs=6)}


def train_simclr(data: ImageData, cfg: SimCLRConfig, device: torch.device, seed: int = 0,
                 checkpoint=None, desc: str = "SimCLR", monitor=None,
                 progress: bool = True) -> tuple[SimCLR, list[dict]]:
    """Pre-train on ``data.x_train`` (labels unused) with :func:`rep_utils.two_view.train_two_view`."""
    torch.manual_seed(seed)
    encoder = make_backbone(cfg.backbone, data.x_train.shape[1])
    model = SimCLR(encoder, cfg.hidden_dim, cfg.out_dim, cfg.temperature).to(device)
    opt = LARS(lars_param_groups(model, cfg.weight_decay), lr=0.0, momentum=cfg.momentum, eta=cfg.eta)
    history = train_two_view(model, opt, data, cfg, device=device, seed=seed, checkpoint=checkpoint,
                             desc=desc, monitor=monitor, progress=progress)
    return model, history
