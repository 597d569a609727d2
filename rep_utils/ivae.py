"""Inverting VAEs (chapter 5): Gemp, Parente & Mahadevan, "Inverting VAEs for Improved Generative
Accuracy", NIPS 2017 AABI workshop (arXiv:1608.05983).

Kingma et al.'s M2 (arXiv:1406.5298) models p(x, y, z) = p(y) p(z) p(x|y,z) and infers
q(y|x) q(z|x,y). The inverted model reads the same networks the other way round:
q(x) q(y|x) q(z|x,y) is a generative model of (y, z) whose recognition model is p(z) p(x|y,z).
So pairs (x, y), images x alone and labels y alone ("unfeatured" y) each get a bound on their
log-likelihood, with no extra parameters. Sizes and weights follow the paper's appendix D: tanh
MLPs, a 2-d z on the box [-1.5, 1.5]^2 with a uniform prior, y relaxed by Gumbel-Softmax at tau=1.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

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

    @classmethod
    def for_profile(cls, profile: str) -> "IVAEConfig":
        return {"ci": replace(cls(), n_labelled=1000, n_unlabelled=2000, hidden_x=(128, 256),
                              batch_size=200, lr=3e-3, epochs=5),
                "colab": replace(cls(), batch_size=500, lr=3e-3, epochs=30),
                "full": cls()}[profile]


def mlp(sizes) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


class M2(nn.Module):
    """The three networks shared by the forward and the inverted model (paper eqs. 1-2)."""

    def __init__(self, x_dim: int, cfg: IVAEConfig):
        super().__init__()
        k, d = cfg.classes, cfg.z_dim
        self.cfg = cfg
        self.y_net = mlp([x_dim, *cfg.hidden_y, k])
        self.z_net = mlp([x_dim + k, *cfg.hidden_z, 2 * d])
        self.x_net = mlp([k + d, *cfg.hidden_x, x_dim])

    def q_y_given_x(self, x):
        """Logits of q(y|x)."""
        return self.y_net(x)

    def q_z_given_xy(self, x, y):
        """Mean and log-variance of the Gaussian that the logistic flow maps onto the z box."""
        return self.z_net(torch.cat([x, y], 1)).chunk(2, 1)

    def p_x_given_yz(self, y, z):
        """Bernoulli logits of p(x|y,z)."""
        return self.x_net(torch.cat([y, z], 1))


def gumbel_softmax_sample(logits, tau: float, g=None):
    """log y for y ~ Concrete(logits, tau): softmax((logits + Gumbel noise) / tau) (Jang et al. 2017)."""
    u = torch.rand(logits.shape, generator=g, device=logits.device)
    return F.log_softmax((logits - torch.log(-torch.log(u.clamp_min(1e-20)))) / tau, -1)


def log_concrete(log_y, logits, tau: float):
    """Log-density of the Concrete / Gumbel-Softmax distribution at y = exp(log_y) (Maddison et al. 2017, eq. 9)."""
    k = logits.shape[-1]
    s = logits - tau * log_y
    return math.lgamma(k) + (k - 1) * math.log(tau) + (s - log_y).sum(-1) - k * torch.logsumexp(s, -1)


def logistic_flow(eps, lo: float, hi: float):
    """z = lo + (hi - lo) sigmoid(eps) and log|dz/deps| (paper App. A, "LogisticFlow")."""
    logdet = (math.log(hi - lo) + F.logsigmoid(eps) + F.logsigmoid(-eps)).sum(-1)
    return lo + (hi - lo) * torch.sigmoid(eps), logdet


def log_q_z(z, mu, logvar, lo: float, hi: float):
    """log q(z|x,y) of a z inside the box: invert the flow, Gaussian density minus the log-Jacobian."""
    u = ((z - lo) / (hi - lo)).clamp(1e-6, 1 - 1e-6)
    eps = torch.log(u) - torch.log1p(-u)
    return normal_log_prob(eps, mu, logvar) - logistic_flow(eps, lo, hi)[1]


def normal_log_prob(eps, mu, logvar):
    return -0.5 * (math.log(2 * math.pi) + logvar + (eps - mu) ** 2 / logvar.exp()).sum(-1)


def sample_z(model: M2, x, y, g=None):
    """z ~ q(z|x,y) by reparameterisation, with its log-density."""
    mu, logvar = model.q_z_given_xy(x, y)
    eps = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g, device=mu.device)
    z, logdet = logistic_flow(eps, model.cfg.z_lo, model.cfg.z_hi)
    return z, normal_log_prob(eps, mu, logvar) - logdet


def log_p_z(cfg: IVAEConfig):
    return -cfg.z_dim * math.log(cfg.z_hi - cfg.z_lo)


def bernoulli_log_prob(x, logits):
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def elbo_labelled(model: M2, x, y, g=None):
    """J_f^l, eq. 3: E_q(z|x,y)[log p(x|y,z) + log p(y) + log p(z) - log q(z|x,y)], y one-hot."""
    z, log_qz = sample_z(model, x, y, g)
    log_py = -math.log(model.cfg.classes)
    return bernoulli_log_prob(x, model.p_x_given_yz(y, z)) + log_py + log_p_z(model.cfg) - log_qz


def elbo_unlabelled(model: M2, x, g=None):
    """J_f^u, eq. 4: y ~ q(y|x) by one Gumbel-Softmax sample (not summed over classes as in M2),
    z ~ q(z|x,y); p(y) is the relaxed uniform categorical (Concrete with equal logits)."""
    tau, logits = model.cfg.tau, model.q_y_given_x(x)
    log_y = gumbel_softmax_sample(logits, tau, g)
    y = log_y.exp()
    z, log_qz = sample_z(model, x, y, g)
    log_qy = log_concrete(log_y, logits, tau)
    log_py = log_concrete(log_y, torch.zeros_like(logits), tau)
    return bernoulli_log_prob(x, model.p_x_given_yz(y, z)) + log_py + log_p_z(model.cfg) - log_qy - log_qz


def elbo_unfeatured(model: M2, y, z, g=None):
    """J_r^u with z observed, eq. 17: the inverted model's bound on log q(y, z),
    E_p(x|y,z)[log q(y|x) + log q(z|x,y) + log q(x) - log p(x|y,z)], q(x) = Bernoulli(0.5).
    x is a binary sample of the decoder, which passes no gradient through it (as the official code)."""
    cfg, logits_x = model.cfg, model.p_x_given_yz(y, z)
    x = torch.bernoulli(torch.sigmoid(logits_x).detach(), generator=g)
    mu, logvar = model.q_z_given_xy(x, y)
    log_qy = log_concrete(torch.log(y), model.q_y_given_x(x), cfg.tau)
    log_qx = -x.shape[1] * math.log(2)
    return log_qy + log_q_z(z, mu, logvar, cfg.z_lo, cfg.z_hi) + log_qx - bernoulli_log_prob(x, logits_x)


def discriminative_losses(model: M2, x, y):
    """J_f^d and J_r^d, eq. 7 with App. D's choices: cross-entropy of q(y|x), and the squared error
    of the decoder's mean image given y and the posterior mean of z."""
    loss_y = F.cross_entropy(model.q_y_given_x(x), y.argmax(1))
    mu, _ = model.q_z_given_xy(x, y)
    z = logistic_flow(mu, model.cfg.z_lo, model.cfg.z_hi)[0]
    loss_x = (torch.sigmoid(model.p_x_given_yz(y, z)) - x).pow(2).sum(1).mean()
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


def untapped_mnist(data, cfg: IVAEConfig, seed: int = 0) -> dict:
    """The paper's MNIST task (§3): pairs only for digits 0..4, unlabelled images of every digit,
    and unfeatured (y, z): near one-hots of all ten classes with z drawn once from p(z).
    Images are binarised and flattened; the split of the training images depends on ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x = (data.x_train.flatten(1) > 127).float()
    perm = torch.randperm(len(x), generator=g)
    labelled = perm[data.y_train[perm] < cfg.labelled_classes][:cfg.n_labelled]
    unlabelled = perm[:cfg.n_unlabelled]
    k = cfg.classes
    y_u = torch.full((cfg.n_unfeatured, k), (1 - cfg.corner) / (k - 1))
    y_u[torch.arange(cfg.n_unfeatured), torch.arange(cfg.n_unfeatured) % k] = cfg.corner
    z_u = cfg.z_lo + (cfg.z_hi - cfg.z_lo) * torch.rand(cfg.n_unfeatured, cfg.z_dim, generator=g)
    return {"x_l": x[labelled], "y_l": F.one_hot(data.y_train[labelled], k).float(),
            "x_u": x[unlabelled], "y_u": y_u, "z_u": z_u,
            "x_test": (data.x_test.flatten(1) > 127).float(), "t_test": data.y_test}


def train_ivae(split: dict, cfg: IVAEConfig, device, seed: int = 0, checkpoint=None):
    """Adam on minus eq. 8 (App. D: eps 1e-4, gradients clipped to [-1, 1]). One epoch is a pass over
    the unlabelled images; each step also draws a batch of pairs and of unfeatured (y, z)."""
    torch.manual_seed(seed)
    model = M2(split["x_u"].shape[1], cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=1e-4)
    s = {k: v.to(device) for k, v in split.items() if k != "t_test"}
    b = min(cfg.batch_size, len(s["x_u"]))

    def step(idx, g):
        i_l = torch.randint(len(s["x_l"]), (b,), generator=g, device=device)
        i_y = torch.randint(len(s["y_u"]), (b,), generator=g, device=device)
        loss, metrics = ivae_loss(model, s["x_l"][i_l], s["y_l"][i_l], s["x_u"][idx],
                                  s["y_u"][i_y], s["z_u"][i_y], g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        return metrics

    history = fit({"model": model, "opt": opt}, step, len(s["x_u"]), cfg.epochs, b, seed, device,
                  checkpoint, desc="M2" if cfg.alpha_r == 0 else "inverted",
                  meta={**asdict(cfg), "seed": seed, "n": [len(v) for v in split.values()]})
    return model, history


@torch.no_grad()
def class_images(model: M2, x_l, y_l, z=None):
    """Mean image of p(x|y,z) for each one-hot y (paper Fig. 2). By default z is the mean of
    q(z|x,y) over the labelled pairs (paper §3); a [n, z_dim] z gives one row of n images per class."""
    cfg = model.cfg
    if z is None:
        z = logistic_flow(model.q_z_given_xy(x_l, y_l)[0], cfg.z_lo, cfg.z_hi)[0].mean(0, keepdim=True)
    y = torch.eye(cfg.classes, device=z.device).repeat_interleave(len(z), 0)
    return torch.sigmoid(model.p_x_given_yz(y, z.repeat(cfg.classes, 1)))


def match_dimensions(probs, fixed: int):
    """Map each unlabelled dimension of y to a digit (paper §3): classify the class images
    (``probs[dim, digit]``), then repeatedly take the most probable (dim, digit) pair among the
    unassigned ones. Dimensions below ``fixed`` keep their digit. Returns perm[digit] = dim."""
    k = len(probs)
    perm = list(range(fixed)) + [-1] * (k - fixed)
    p = probs.clone()
    p[:fixed] = -1
    p[:, :fixed] = -1
    for _ in range(k - fixed):
        dim, digit = divmod(int(p.argmax()), k)
        perm[digit] = dim
        p[dim], p[:, digit] = -1, -1
    return perm


@torch.no_grad()
def untapped_metrics(model: M2, split: dict, classify) -> dict:
    """The paper's metric, cross-entropy of q(y|x) on test digits 5..9 after matching dimensions to
    digits (predictions clipped at 1e-6 as in the official code), plus accuracies and the number
    of distinct digits among the ten class images; ``classify`` maps images to digit probabilities."""
    dev = next(model.parameters()).device
    fixed = model.cfg.labelled_classes
    probs = classify(class_images(model, split["x_l"].to(dev), split["y_l"].to(dev)))
    perm = match_dimensions(probs, fixed)
    q = F.softmax(model.q_y_given_x(split["x_test"].to(dev)), 1)[:, perm].cpu()
    t, new = split["t_test"], split["t_test"] >= fixed
    p_true = q[torch.arange(len(t)), t].clamp_min(1e-6)
    return {"cross_entropy": -p_true[new].log().mean().item(),
            "acc_new": (q.argmax(1) == t)[new].float().mean().item(),
            "acc_labelled": (q.argmax(1) == t)[~new].float().mean().item(),
            "coverage": len(set(probs.argmax(1).tolist())), "perm": perm}
