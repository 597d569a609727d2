"""Gradient-based sampling of inputs (defined in the Introspective CNN chapter, reused by GEDI).

Stochastic gradient Langevin dynamics (Welling & Teh, 2011) draws ``x`` from a density
``p(x) ∝ exp(score(x))`` (``score = -energy``) with the update

    x ← clamp(x + step_size · ∇ₓ score(x) + noise_std · η),   η ~ N(0, I).

With ``noise_std = sqrt(2 · step_size)`` this is the textbook Langevin discretisation; energy-model
practice (JEM, IGEBM) decouples the two and uses a much smaller noise, and ``noise_std = 0`` is
plain gradient ascent on the score. A :class:`ReplayBuffer` gives persistent chains: each batch
starts from earlier samples, except a fraction re-initialised from the reference distribution.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch

Score = Callable[[torch.Tensor], torch.Tensor]  # [B, ...] -> [B], higher = more probable


def sgld_step(score: Score, x: torch.Tensor, step_size: float, noise_std: float,
              clamp: tuple[float, float] | None = None, g: torch.Generator | None = None) -> torch.Tensor:
    """One Langevin step on ``score`` (summed over the batch: the chains are independent)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(x).sum(), x)  # only x gets a gradient, not the model
    x = x.detach() + step_size * grad
    if noise_std > 0:
        x = x + noise_std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=g)
    if not torch.isfinite(x).all():  # before the clamp, which would hide an infinite step
        raise FloatingPointError(
            f"Langevin samples became non-finite (step_size={step_size:g}, noise_std={noise_std:g}): "
            "the score's gradient exploded; lower the sampler's step size (GEDIConfig.sgld_step_size, "
            "ICNConfig.step_size) or the learning rate of the model being sampled.")
    return x.clamp(*clamp) if clamp is not None else x


def sgld_sample(score: Score, x0: torch.Tensor, steps: int, step_size: float, noise_std: float,
                clamp: tuple[float, float] | None = None, g: torch.Generator | None = None,
                warn_pinned: float | None = None) -> torch.Tensor:
    """Run ``steps`` Langevin steps from ``x0`` and return the detached samples.

    ``warn_pinned``: warn when more than this share of the chains end with a coordinate on the
    clamp's bounds (off by default: image pixels rightly sit at 0 or 1)."""
    knobs = "(GEDIConfig.sgld_step_size / sgld_noise, ICNConfig.step_size / noise_std)"
    if not (math.isfinite(step_size) and step_size > 0):
        raise ValueError(f"Langevin step_size={step_size!r}: it must be finite and > 0 {knobs}.")
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"Langevin noise_std={noise_std!r}: it must be finite and >= 0 {knobs}.")
    x = x0.detach()
    for _ in range(steps):
        x = sgld_step(score, x, step_size, noise_std, clamp, g)
    if warn_pinned is not None and clamp is not None:
        pinned = ((x <= clamp[0]) | (x >= clamp[1])).flatten(1).any(1).float().mean().item()
        if pinned > warn_pinned:
            warnings.warn(f"{pinned:.0%} of the Langevin chains end on the clamp's bounds {clamp}: the sampler "
                          "is pushed out of the box, so its samples are not the model's; lower the step size "
                          "or raise the noise (GEDIConfig.sgld_step_size, sgld_noise) or the box.",
                          RuntimeWarning, stacklevel=2)
    return x.detach()


class ReplayBuffer:
    """Persistent chains: ``size`` stored samples, first drawn from ``init(n, g)``.

    ``draw`` returns a batch of stored samples in which each one is replaced, with probability
    ``reinit``, by a fresh draw from ``init``; ``push`` writes the advanced samples back.
    """

    def __init__(self, init: Callable[[int, torch.Generator | None], torch.Tensor], size: int,
                 reinit: float = 0.05, g: torch.Generator | None = None):
        self.init, self.reinit = init, reinit
        self.samples = init(size, g)

    def draw(self, n: int, g: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` starting points and their slots in the buffer (to pass back to ``push``)."""
        dev = self.samples.device
        idx = torch.randint(len(self.samples), (n,), device=dev, generator=g)
        fresh = torch.rand(n, device=dev, generator=g) < self.reinit
        x = self.samples[idx].clone()
        x[fresh] = self.init(int(fresh.sum()), g).to(x)
        return x, idx

    def push(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        self.samples[idx] = x.detach().to(self.samples)

    def state_dict(self) -> dict:  # so that a checkpoint keeps the chains (``train.fit``)
        return {"samples": self.samples}

    def load_state_dict(self, state: dict) -> None:
        self.samples = state["samples"].to(self.samples)
