"""Inverting VAEs (chapter 5): Gemp, Parente & Mahadevan, "Inverting VAEs for Improved Generative
Accuracy", NIPS 2017 AABI workshop (arXiv:1608.05983).

Kingma et al.'s M2 (arXiv:1406.5298) models p(x, y, z) = p(y) p(z) p(x|y,z) and infers
q(y|x) q(z|x,y). The inverted model reads the same networks the other way round:
q(x) q(y|x) q(z|x,y) is a generative model of (y, z) whose recognition model is p(z) p(x|y,z).
So pairs (x, y), inputs x alone and labels y alone ("unfeatured" y) each get a bound on their
log-likelihood, with no extra parameters. The bounds are written once, in terms of the model's
densities, which ``torch.distributions`` scores (the draws are by hand: see ``densities``). ``M2``
has those of the digits; ``ivae_digits`` holds the digit task and the paper's metric,
``ivae_spectra`` the compositions (the paper's spectroscopy runs).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, RelaxedOneHotCategorical, TransformedDistribution
from torch.distributions.relaxed_categorical import ExpRelaxedCategorical
from torch.distributions.transforms import AffineTransform, ComposeTransform, SigmoidTransform

from .checks import validate_config
from .densities import gumbel_softmax_sample, normal, rsample
from .profiles import by_profile
from .train import fit


@dataclass
class IVAEConfig:
    classes: int = 10
    labelled_classes: int = 5      # labels only for digits 0..4 (paper §3)
    z_dim: int = 2
    z_lo: float = -1.5             # p(z) = U(z_lo, z_hi)^z_dim (App. D)
    z_hi: float = 1.5
    hidden_y: tuple = (50, 50)     # x -> y
    hidden_z: tuple = (10, 10)     # (x, y) -> z
    hidden_x: tuple = (250, 500)   # (y, z) -> x
    tau: float = 1.0               # Gumbel-Softmax temperature, fixed as in the official code
    corner: float = 0.95           # unfeatured y are near one-hots (official loader)
    alpha_r: float = 1.0           # weight of the reverse bound J_r (0: plain M2); "weight each model equally"
    alpha_fd: float = 10.0         # weight of the y-discriminative term J_f^d (App. D)
    alpha_rd: float = 0.1          # weight of the x-discriminative term J_r^d (App. D)
    n_labelled: int | None = None  # None: every training image of digits 0..4
    n_unlabelled: int | None = None
    n_unfeatured: int = 10         # (y, z) pairs; the official demo uses 10
    lr: float = 1e-2
    batch_size: int = 10_000
    epochs: int = 150

    __post_init__ = validate_config  # types and ranges checked when the config is built

    @classmethod
    def for_profile(cls, profile: str) -> "IVAEConfig":
        # ci: every image of the offline subset (17,435) in batches of 1,000 for 60 epochs (1,020
        # steps); colab: the paper's 20,000 unlabelled in batches of 1,000 for 1,500 steps. Both see
        # fewer examples than the paper's 150 epochs of batch 10,000, but run past the ~1,000 steps
        # the inverted model needs to give the new dimensions their digits (benchmarks/ivae_scale.py:
        # with batches of 250 it still lost to M2 in 1 of 4 seeds after 1,518 steps).
        return by_profile({"ci": replace(cls(), batch_size=1000, epochs=60),
                "colab": replace(cls(), n_unlabelled=20_000, batch_size=1000, epochs=75),
                "full": replace(cls(), n_unlabelled=20_000)}, profile)

    def build_model(self, x_dim: int) -> "M2":
        """The model this config trains (``ivae_spectra.SpectraConfig``'s is a ``SimplexM2``)."""
        return M2(x_dim, self)


def mlp(sizes) -> nn.Sequential:
    """Linear layers of the given sizes with tanh between them (App. D)."""
    return nn.Sequential(*[m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.Tanh())][:-1])


class M2(nn.Module):
    """The three networks (tanh MLPs) shared by the forward and the inverted model (paper eqs. 1-2),
    with the densities of the digit task (paper §3, App. D): y relaxed by Gumbel-Softmax (Concrete y),
    z on the box [z_lo, z_hi]^z_dim with a uniform prior, Bernoulli pixels x."""
    y_outputs = staticmethod(lambda k: k)  # logits

    def __init__(self, x_dim: int, cfg: IVAEConfig):
        super().__init__()
        k, d = cfg.classes, cfg.z_dim
        self.cfg = cfg
        self.y_net = mlp([x_dim, *cfg.hidden_y, self.y_outputs(k)])
        self.z_net = mlp([x_dim + k, *cfg.hidden_z, 2 * d])
        self.x_net = mlp([k + d, *cfg.hidden_x, x_dim])

    def q_y_given_x(self, x):
        """The parameters of q(y|x) (here its logits)."""
        return self.y_net(x)

    def q_z_given_xy(self, x, y):
        """Mean and log-variance of the Gaussian behind q(z|x,y)."""
        return self.z_net(torch.cat([x, y], 1)).chunk(2, 1)

    def p_x_given_yz(self, y, z):
        """The parameters of p(x|y,z) (here Bernoulli logits)."""
        return self.x_net(torch.cat([y, z], 1))

    def sample_y(self, x, g=None):
        """y ~ q(y|x) by one Gumbel-Softmax sample, and log p(y) - log q(y|x) with Concrete densities
        (Maddison et al. 2017, eq. 9) of log y, whose Jacobian cancels in the ratio; for p(y) the
        relaxed uniform categorical (equal logits)."""
        logits = self.q_y_given_x(x)
        log_y, tau = gumbel_softmax_sample(logits, self.cfg.tau, g), logits.new_tensor(self.cfg.tau)
        log_p, log_q = (ExpRelaxedCategorical(tau, logits=a, validate_args=False).log_prob(log_y)
                        for a in (torch.zeros_like(logits), logits))
        return log_y.exp(), log_p - log_q

    def log_q_y(self, x, y):
        return RelaxedOneHotCategorical(y.new_tensor(self.cfg.tau), logits=self.q_y_given_x(x), validate_args=False).log_prob(y)

    def log_p_y(self, y):
        """Uniform prior over the classes, at a labelled (one-hot) y."""
        return torch.full(y.shape[:1], -math.log(self.cfg.classes), device=y.device)

    def predict_y(self, x):
        """log of the point prediction of y (the mean of the categorical)."""
        return F.log_softmax(self.q_y_given_x(x), -1)

    def q_z(self, x, y) -> TransformedDistribution:
        """q(z|x,y): its Gaussian pushed onto the box by z = lo + (hi - lo) sigmoid(eps) (paper App. A,
        "LogisticFlow"). The flow caches its last (eps, z), so scoring a z it made reads eps back
        instead of inverting a sigmoid that may have saturated."""
        lo, hi = self.cfg.z_lo, self.cfg.z_hi
        flow = ComposeTransform([SigmoidTransform(), AffineTransform(lo, hi - lo)], cache_size=1)
        return TransformedDistribution(normal(*self.q_z_given_xy(x, y)), flow, validate_args=False)

    def sample_z(self, x, y, g=None):
        """z ~ q(z|x,y) by reparameterisation, and log p(z) - log q(z|x,y) (one sample)."""
        q = self.q_z(x, y)
        z = q.transforms[0](rsample(q.base_dist, g))
        return z, -self.cfg.z_dim * math.log(self.cfg.z_hi - self.cfg.z_lo) - q.log_prob(z)  # p(z): uniform on the box

    def log_q_z(self, x, y, z):
        return self.q_z(x, y).log_prob(z)

    def z_point(self, x, y):
        q = self.q_z(x, y)
        return q.transforms[0](q.base_dist.mean)

    def x_mean(self, y, z):
        return torch.sigmoid(self.p_x_given_yz(y, z))

    def log_p_x(self, x, y, z):
        return Bernoulli(logits=self.p_x_given_yz(y, z), validate_args=False).log_prob(x).sum(-1)

    def sample_x(self, y, z, g=None):
        """A binary image from p(x|y,z); like the official code's sampler it passes no gradient."""
        return torch.bernoulli(self.x_mean(y, z).detach(), generator=g)

    def log_q_x(self, x):
        """The inverted model's prior q(x) = Bernoulli(0.5) (paper eq. 2)."""
        return -x.shape[1] * math.log(2)


def elbo_labelled(model: M2, x, y, g=None):
    """J_f^l, eq. 3: E_q(z|x,y)[log p(x|y,z) + log p(y) + log p(z) - log q(z|x,y)]."""
    z, log_pq_z = model.sample_z(x, y, g)
    return model.log_p_x(x, y, z) + model.log_p_y(y) + log_pq_z


def elbo_unlabelled(model: M2, x, g=None):
    """J_f^u, eq. 4: one sample y ~ q(y|x) (not summed over classes as in M2), then z ~ q(z|x,y)."""
    y, log_pq_y = model.sample_y(x, g)
    z, log_pq_z = model.sample_z(x, y, g)
    return model.log_p_x(x, y, z) + log_pq_y + log_pq_z


def elbo_unfeatured(model: M2, y, z, g=None):
    """J_r^u with z observed, eq. 17: the inverted model's bound on log q(y, z),
    E_p(x|y,z)[log q(y|x) + log q(z|x,y) + log q(x) - log p(x|y,z)]: decode, re-encode, score."""
    x = model.sample_x(y, z, g)
    return model.log_q_y(x, y) + model.log_q_z(x, y, z) + model.log_q_x(x) - model.log_p_x(x, y, z)


def discriminative_losses(model: M2, x, y):
    """J_f^d and J_r^d, eq. 7 with App. D's choices: cross-entropy of the predicted y (for
    compositions this is the official code's KL up to a constant), and the squared error of the
    decoder's mean given y and the posterior mean of z."""
    loss_y = -(y * model.predict_y(x)).sum(1).mean()
    loss_x = (model.x_mean(y, model.z_point(x, y)) - x).pow(2).sum(1).mean()
    return loss_y, loss_x


def ivae_loss(model: M2, x_l, y_l, x_u, y_u, z_u, g=None) -> tuple[torch.Tensor, dict]:
    """Minus eq. 8: -(J_f + alpha_r J_r) + alpha_fd J_f^d + alpha_rd J_r^d, per-example means.
    alpha_r = alpha_rd = 0 is the M2 baseline ("the same architecture but without the J_r term")."""
    cfg = model.cfg
    j_l, j_u = elbo_labelled(model, x_l, y_l, g).mean(), elbo_unlabelled(model, x_u, g).mean()
    loss_y, loss_x = discriminative_losses(model, x_l, y_l)
    loss = -(j_l + j_u) + cfg.alpha_fd * loss_y + cfg.alpha_rd * loss_x
    metrics = {"elbo_labelled": j_l.detach(), "elbo_unlabelled": j_u.detach(), "loss_y": loss_y.detach()}
    if cfg.alpha_r > 0:
        j_r = elbo_unfeatured(model, y_u, z_u, g).mean()
        loss = loss - cfg.alpha_r * j_r
        metrics["elbo_unfeatured"] = j_r.detach()
    return loss, metrics


def train_ivae(split: dict, cfg: IVAEConfig, device, seed: int = 0, checkpoint=None, progress: bool = True):
    """Adam on minus eq. 8 (App. D: eps 1e-4, gradients clipped to [-1, 1]) for the config's model. One
    epoch is a pass over the unlabelled inputs; each step also draws a batch of pairs and of unfeatured (y, z)."""
    torch.manual_seed(seed)
    model = cfg.build_model(split["x_u"].shape[1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=1e-4)
    s = {k: split[k].to(device) for k in ("x_l", "y_l", "x_u", "y_u", "z_u")}
    b = min(cfg.batch_size, len(s["x_u"]))

    def step(idx, g, k):
        i_l = torch.randint(len(s["x_l"]), (b,), generator=g, device=device)
        i_y = torch.randint(len(s["y_u"]), (b,), generator=g, device=device)
        loss, metrics = ivae_loss(model, s["x_l"][i_l], s["y_l"][i_l], s["x_u"][idx],
                                  s["y_u"][i_y], s["z_u"][i_y], g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        return metrics

    history = fit({"model": model, "opt": opt}, step, n=len(s["x_u"]), epochs=cfg.epochs, batch_size=b, seed=seed,
                  device=device, checkpoint=checkpoint, desc="M2" if cfg.alpha_r == 0 else "inverted",
                  meta={**asdict(cfg), "seed": seed, "n": [len(v) for v in s.values()]}, progress=progress)
    return model, history
