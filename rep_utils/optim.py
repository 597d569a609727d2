"""Optimiser and learning-rate schedule of the self-supervised chapters (defined in the BYOL
chapter): LARS, which BYOL and SimCLR use for large batches, and linear warm-up + cosine decay."""
from __future__ import annotations

import math

import torch
from torch import nn


def lars_param_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """Split the parameters for :class:`LARS`: weight matrices and kernels get weight decay and the
    trust ratio; biases and normalisation parameters (the 1-D tensors) get neither (BYOL Sec. 3.3,
    App. J: ``exclude_bias_and_norm``)."""
    params = [p for p in module.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay, "lars": True},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "lars": False}]


class LARS(torch.optim.Optimizer):
    """Layer-wise Adaptive Rate Scaling (You et al., 2017) in the form of BYOL's official code.

    For a tensor ``w`` with gradient ``g`` in a group with ``lars=True``::

        u = g + weight_decay * w
        u = u * eta * ||w|| / ||u||        (left as is when either norm is 0)

    groups with ``lars=False`` use ``u = g``; then, for every tensor, SGD with momentum::

        m = momentum * m + u;   w = w - lr * m
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 eta: float = 1e-3):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      eta=eta, lars=True))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:
                    continue
                u = w.grad
                if group["lars"]:
                    u = u.add(w, alpha=group["weight_decay"])
                    w_norm, u_norm = w.norm(), u.norm()
                    trust = torch.where((w_norm > 0) & (u_norm > 0),
                                        group["eta"] * w_norm / u_norm, torch.ones_like(w_norm))
                    u = u * trust
                state = self.state[w]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(w)
                m = state["momentum"].mul_(group["momentum"]).add_(u)
                w.add_(m, alpha=-group["lr"])
        return loss


def warmup_cosine(k: int, total: int, warmup: int) -> float:
    """Learning-rate factor at step ``k``: linear from 0 to 1 over ``warmup`` steps, then cosine
    decay to 0 at ``total`` (BYOL Sec. 3.3: 10 warm-up epochs, cosine decay without restarts)."""
    if k < warmup:
        return k / warmup
    return 0.5 * (1 + math.cos(math.pi * min(k - warmup, total - warmup) / max(1, total - warmup)))
