"""The densities of the inverted VAE (chapter 5) that ``torch.distributions`` does not give as one
call: a diagonal Gaussian built from a log-variance, its draw and the Gumbel-Softmax draw by hand,
and the additive-logistic normal on the simplex.

Draws are taken from an explicit ``torch.Generator``: ``fit`` seeds one per epoch, so a resumed
run repeats them, and ``torch.distributions``' ``rsample`` takes no generator. Distributions are
built with ``validate_args=False``: each argument check would make the GPU wait, on every step
(the Concrete's inner ``Categorical`` still checks its logits: torch passes it no flag).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Independent, Normal


def normal(mu, logvar) -> Independent:
    """N(mu, diag exp(logvar)), one event per row."""
    return Independent(Normal(mu, (0.5 * logvar).exp(), validate_args=False), 1)


def rsample(d: Independent, g: torch.Generator | None = None) -> torch.Tensor:
    """A reparameterised draw of the Gaussian ``d``, mean + sd * noise, the noise drawn from ``g``."""
    return d.mean + d.stddev * torch.randn(d.mean.shape, generator=g, device=d.mean.device)


def gumbel_softmax_sample(logits, tau: float, g: torch.Generator | None = None) -> torch.Tensor:
    """log y for y ~ Concrete(logits, tau): log_softmax((logits + Gumbel noise) / tau) (Jang et al.
    2017, eq. 2); ``ExpRelaxedCategorical`` scores it."""
    u = torch.rand(logits.shape, generator=g, device=logits.device)
    return F.log_softmax((logits - torch.log(-torch.log(u.clamp_min(1e-20)))) / tau, -1)


def additive_logistic(eta) -> torch.Tensor:
    """The official code's simplex flow: y = (exp(eta), 1) / (1 + sum exp(eta)), eta in R^(K-1)."""
    return F.softmax(F.pad(eta, (0, 1)), -1)


def log_logistic_normal(y, mu, logvar) -> torch.Tensor:
    """Density at y of the additive-logistic image of N(mu, exp(logvar)) (Aitchison & Shen
    1980): invert, eta_k = log(y_k / y_K), and subtract the log-Jacobian sum_k log y_k (over all
    K components). torch has no transform for this flow, so its Jacobian is written here."""
    log_y = torch.log(y)
    return normal(mu, logvar).log_prob(log_y[:, :-1] - log_y[:, -1:]) - log_y.sum(-1)
