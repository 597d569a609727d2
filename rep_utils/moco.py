"""MoCo v2: momentum contrast (He et al. 2020, arXiv:1911.05722; v2: Chen, Fan, Girshick & He
2020, arXiv:2003.04297), Chapter 2.

A query encoder (encoder f_q and MLP head) embeds one view; a key encoder, a moving average of
the query encoder, embeds the other. Each query must pick out its own key among the K keys of
earlier batches kept in a queue (InfoNCE at temperature T). The queue supplies many negatives
without a large batch; the slowly moving key encoder keeps the queued keys consistent.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageData
from .models import make_backbone, mlp
from .two_view import TwoViewConfig, train_two_view


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 1 (Algorithm 1): L_q = -log exp(q.k+ / T) / (exp(q.k+ / T) + sum_i exp(q.k_i / T)), over
    l2-normalised queries ``q`` [N, d], their positive keys ``k`` [N, d] and the queue [K, d]."""
    q, k = F.normalize(q.float(), dim=1), F.normalize(k.float(), dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.float().T], 1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))  # positive: 0


class MoCo(nn.Module):
    """Query network ``query = (f_q, head)``, key network ``key`` (its moving average, no
    gradient) and the queue of the last ``queue_size`` normalised keys."""

    def __init__(self, encoder: nn.Module, hidden_dim: int = 2048, out_dim: int = 128,
                 queue_size: int = 65536, temperature: float = 0.2):
        super().__init__()
        self.query = nn.Sequential(encoder, mlp(encoder.feature_dim, hidden_dim, out_dim, batch_norm=False))
        self.key = copy.deepcopy(self.query).requires_grad_(False)
        self.temperature = temperature
        # random unit vectors until real keys replace them, as in the official code
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, out_dim), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @property
    def encoder(self) -> nn.Module:
        return self.query[0]

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """The query sees v1, the key v2 (MoCo's asymmetric loss); then the keys join the queue.
        Shuffling BN (the official code's defence against batch-statistics leaks across GPUs) is
        left out on one device, as in single-GPU reimplementations."""
        q = self.query(v1)
        with torch.no_grad():
            k = F.normalize(self.key(v2).float(), dim=1)
        loss = info_nce(q, k, self.queue.clone(), self.temperature)  # enqueue writes in place
        self.enqueue(k)
        return loss

    @torch.no_grad()
    def enqueue(self, k: torch.Tensor) -> None:
        """Replace the oldest len(k) keys (the queue size is a multiple of the batch size)."""
        i = int(self.ptr)
        self.queue[i:i + len(k)] = k
        self.ptr.fill_((i + len(k)) % len(self.queue))

    @torch.no_grad()
    def update_key(self, m: float) -> None:
        """Eq. 2: theta_k <- m theta_k + (1 - m) theta_q, on the parameters."""
        for key, query in zip(self.key.parameters(), self.query.parameters()):
            key.lerp_(query, 1 - m)


@dataclass
class MoCoConfig(TwoViewConfig):
    """``full``: MoCo v2's ImageNet recipe (SGD lr 0.03 x batch/256, wd 1e-4, m 0.999, K 65,536,
    T 0.2, cosine schedule, 200 epochs) on CIFAR-10 (its blur dropped on 32x32 images). colab and
    ci: solo-learn's tested CIFAR-10 recipe (SGD lr 0.3, 2048-256 head, K 32,768, m 0.99),
    shortened as in the BYOL chapter; ci's queue holds 4,096 keys (one pass)."""

    epochs: int = 200
    batch_size: int = 256
    base_lr: float = 0.03  # SGD, scaled by batch_size / 256
    weight_decay: float = 1e-4
    warmup_epochs: float = 0
    hidden_dim: int = 2048
    out_dim: int = 128
    queue_size: int = 65536
    temperature: float = 0.2
    m: float = 0.999  # the key encoder's momentum

    short: ClassVar[dict] = dict(base_lr=0.3, out_dim=256, queue_size=32768, m=0.99, warmup_epochs=1)
    budget: ClassVar[dict] = {"ci": dict(epochs=8, hidden_dim=512, out_dim=128, queue_size=4096),
                              "colab": dict(epochs=6)}


def train_moco(data: ImageData, cfg: MoCoConfig, device: torch.device, seed: int = 0,
               checkpoint=None, desc: str = "MoCo v2", monitor=None,
               progress: bool = True) -> tuple[MoCo, list[dict]]:
    """Pre-train on ``data.x_train`` (labels unused) with :func:`rep_utils.two_view.train_two_view`."""
    if cfg.queue_size % cfg.batch_size:
        raise ValueError(f"queue_size={cfg.queue_size} is not a multiple of batch_size={cfg.batch_size}.")
    torch.manual_seed(seed)
    model = MoCo(make_backbone(cfg.backbone, data.x_train.shape[1]), cfg.hidden_dim, cfg.out_dim,
                 cfg.queue_size, cfg.temperature).to(device)
    opt = torch.optim.SGD(model.query.parameters(), lr=0.0, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)

    def after_step(k, total):
        model.update_key(cfg.m)
        return {}

    history = train_two_view(model, opt, data, cfg, device=device, seed=seed, checkpoint=checkpoint,
                             desc=desc, after_step=after_step, monitor=monitor, progress=progress)
    return model, history
