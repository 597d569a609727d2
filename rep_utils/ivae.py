"""Inverting VAEs (chapter 5): Gemp, Parente & Mahadevan, "Inverting VAEs for Improved Generative
Accuracy", NIPS 2017 AABI workshop (arXiv:1608.05983).

Kingma et al.'s M2 (arXiv:1406.5298) models p(x, y, z) = p(y) p(z) p(x|y,z) and infers
q(y|x) q(z|x,y). The inverted model reads the same networks the other way round:
q(x) q(y|x) q(z|x,y) is a generative model of (y, z) whose recognition model is p(z) p(x|y,z).
So pairs (x, y), inputs x alone and labels y alone ("unfeatured" y) each get a bound on their
log-likelihood, with no extra parameters. The bounds are written once, in terms of the model's
densities; two models supply them:

- ``M2`` (digits, paper §3 and appendix D): y relaxed by Gumbel-Softmax at tau=1, a 2-d z on the
  box [-1.5, 1.5]^2 with a uniform prior, Bernoulli pixels, tanh MLPs;
- ``SimplexM2`` (compositions, the paper's spectroscopy runs as the official code builds them):
  y = additive-logistic image of a Gaussian, a uniform prior on the simplex, Gaussian spectra; z
  Gaussian with a N(0, I) prior (our choice, so that its KL is closed-form).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from . import spectra
from .checks import validate_config
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


@dataclass
class SpectraConfig(IVAEConfig):
    """The synthetic mixing task (``untapped_spectra``), shaped like the official CRISM demo: K=3
    endmembers, pairs only near the centre of the simplex, unfeatured y from the whole simplex.
    Networks as the LIBS demo's ([25, 10], [5, 5], [50]); the weights are ours (see the chapter)."""
    classes: int = 3               # endmembers
    channels: int = 64
    noise: float = 0.02
    saturation: float = 1.0        # 0: exactly linear mixing
    concentration_l: float = 20.0  # Dirichlet of the labelled compositions (near the centre)
    concentration_u: float = 20.0  # ... and of the unlabelled spectra's (near the centre too, as in the demo)
    x_logvar_init: float = -4.6    # log-variance of p(x|y,z) at the start: noise sd 0.1 (peaks are ~1 high)
    z_dim: int = 2
    hidden_y: tuple = (25, 10)
    hidden_z: tuple = (5, 5)
    hidden_x: tuple = (50,)
    alpha_fd: float = 100.0
    alpha_rd: float = 1.0
    n_labelled: int = 30
    n_unlabelled: int = 2000
    n_unfeatured: int = 2000
    n_test: int = 2000
    lr: float = 1e-2
    batch_size: int = 50
    epochs: int = 30

    @classmethod
    def for_profile(cls, profile: str) -> "SpectraConfig":
        return by_profile({"ci": replace(cls(), n_unlabelled=1000, epochs=15), "colab": cls(),
                "full": replace(cls(), epochs=100)}, profile)


def mlp(sizes) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def normal_log_prob(eps, mu, logvar):
    return -0.5 * (math.log(2 * math.pi) + logvar + (eps - mu) ** 2 / logvar.exp()).sum(-1)


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the last dimension (Kingma & Welling, App. B)."""
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1)


def gumbel_softmax_sample(logits, tau: float, g=None):
    """log y for y ~ Concrete(logits, tau): softmax((logits + Gumbel noise) / tau) (Jang et al. 2017)."""
    u = torch.rand(logits.shape, generator=g, device=logits.device)
    return F.log_softmax((logits - torch.log(-torch.log(u.clamp_min(1e-20)))) / tau, -1)


def log_concrete(log_y, logits, tau: float):
    """Log-density of the Concrete (Gumbel-Softmax) distribution at y = exp(log_y)
    (Maddison et al. 2017, eq. 9)."""
    k = logits.shape[-1]
    s = logits - tau * log_y
    return math.lgamma(k) + (k - 1) * math.log(tau) + (s - log_y).sum(-1) - k * torch.logsumexp(s, -1)


def logistic_flow(eps, lo: float, hi: float):
    """z = lo + (hi - lo) sigmoid(eps) and log|dz/deps| (paper App. A, "LogisticFlow")."""
    logdet = (math.log(hi - lo) + F.logsigmoid(eps) + F.logsigmoid(-eps)).sum(-1)
    return lo + (hi - lo) * torch.sigmoid(eps), logdet


def log_box(z, mu, logvar, lo: float, hi: float):
    """Density of a z inside the box under the logistic flow of N(mu, exp(logvar)): invert the
    flow, Gaussian density minus the log-Jacobian."""
    u = ((z - lo) / (hi - lo)).clamp(1e-6, 1 - 1e-6)
    eps = torch.log(u) - torch.log1p(-u)
    return normal_log_prob(eps, mu, logvar) - logistic_flow(eps, lo, hi)[1]


def additive_logistic(eta):
    """The official code's simplex flow: y = (exp(eta), 1) / (1 + sum exp(eta)), eta in R^(K-1)."""
    return F.softmax(F.pad(eta, (0, 1)), -1)


def log_logistic_normal(y, mu, logvar):
    """Density at y of the additive-logistic image of N(mu, exp(logvar)): invert, eta_k = log(y_k / y_K),
    and subtract the log-Jacobian sum_k log y_k (over all K components)."""
    log_y = torch.log(y)
    return normal_log_prob(log_y[:, :-1] - log_y[:, -1:], mu, logvar) - log_y.sum(-1)


def _randn(mu, g):
    return torch.randn(mu.shape, generator=g, device=mu.device)


class M2(nn.Module):
    """The three networks shared by the forward and the inverted model (paper eqs. 1-2), with the
    densities of the digit task: Concrete y, box z, Bernoulli x."""
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
        """y ~ q(y|x) by one Gumbel-Softmax sample, and log p(y) - log q(y|x) with Concrete
        densities; for p(y) the relaxed uniform categorical (equal logits)."""
        logits = self.q_y_given_x(x)
        log_y = gumbel_softmax_sample(logits, self.cfg.tau, g)
        log_p = log_concrete(log_y, torch.zeros_like(logits), self.cfg.tau)
        return log_y.exp(), log_p - log_concrete(log_y, logits, self.cfg.tau)

    def log_q_y(self, x, y):
        return log_concrete(torch.log(y), self.q_y_given_x(x), self.cfg.tau)

    def log_p_y(self, y):
        """Uniform prior over the classes, at a labelled (one-hot) y."""
        return torch.full(y.shape[:1], -math.log(self.cfg.classes), device=y.device)

    def predict_y(self, x):
        """log of the point prediction of y (the mean of the categorical)."""
        return F.log_softmax(self.q_y_given_x(x), -1)

    def sample_z(self, x, y, g=None):
        """z ~ q(z|x,y) by reparameterisation, and log p(z) - log q(z|x,y) (one sample)."""
        mu, logvar = self.q_z_given_xy(x, y)
        eps = mu + (0.5 * logvar).exp() * _randn(mu, g)
        z, logdet = logistic_flow(eps, self.cfg.z_lo, self.cfg.z_hi)
        log_p_z = -self.cfg.z_dim * math.log(self.cfg.z_hi - self.cfg.z_lo)  # uniform on the box
        return z, log_p_z - normal_log_prob(eps, mu, logvar) + logdet

    def log_q_z(self, x, y, z):
        return log_box(z, *self.q_z_given_xy(x, y), self.cfg.z_lo, self.cfg.z_hi)

    def z_point(self, x, y):
        return logistic_flow(self.q_z_given_xy(x, y)[0], self.cfg.z_lo, self.cfg.z_hi)[0]

    def x_mean(self, y, z):
        return torch.sigmoid(self.p_x_given_yz(y, z))

    def log_p_x(self, x, y, z):
        return -F.binary_cross_entropy_with_logits(self.p_x_given_yz(y, z), x, reduction="none").sum(-1)

    def sample_x(self, y, z, g=None):
        """A binary image from p(x|y,z); like the official code's sampler it passes no gradient."""
        return torch.bernoulli(self.x_mean(y, z).detach(), generator=g)

    def log_q_x(self, x):
        """The inverted model's prior q(x) = Bernoulli(0.5) (paper eq. 2)."""
        return -x.shape[1] * math.log(2)


class SimplexM2(M2):
    """The same networks for compositions y on the simplex: q(y|x) is a Gaussian in R^(K-1) pushed
    through the additive-logistic flow (official code, ``NormalizingSimplexFlowLayer``), p(y) is
    uniform on the simplex; p(x|y,z) is Gaussian with a learned scale per channel (the official
    code adds a softplus flow for positive intensities, which we drop), and q(x) is flat (improper,
    "uniform over positive intensities" in the official code), so log q(x) = 0. z has a N(0, I)
    prior and a Gaussian q(z|x,y) (our choice; the paper's box would do too)."""
    y_outputs = staticmethod(lambda k: 2 * (k - 1))

    def __init__(self, x_dim: int, cfg: IVAEConfig):
        super().__init__(x_dim, cfg)
        self.x_logvar = nn.Parameter(torch.full((x_dim,), cfg.x_logvar_init))

    def sample_y(self, x, g=None):
        mu, logvar = self.q_y_given_x(x).chunk(2, 1)
        y = additive_logistic(mu + (0.5 * logvar).exp() * _randn(mu, g))
        return y, self.log_p_y(y) - log_logistic_normal(y, mu, logvar)

    def log_q_y(self, x, y):
        return log_logistic_normal(y, *self.q_y_given_x(x).chunk(2, 1))

    def log_p_y(self, y):
        """Uniform on the simplex, Dirichlet(1, ..., 1): density (K-1)!."""
        return torch.full(y.shape[:1], math.lgamma(self.cfg.classes), device=y.device)

    def predict_y(self, x):
        """log of the point prediction: the flow applied to the posterior mean of eta."""
        return F.log_softmax(F.pad(self.q_y_given_x(x).chunk(2, 1)[0], (0, 1)), -1)

    def sample_z(self, x, y, g=None):
        """z ~ q(z|x,y), and the closed-form E_q[log p(z) - log q(z|x,y)] = -KL(q || N(0, I))."""
        mu, logvar = self.q_z_given_xy(x, y)
        return mu + (0.5 * logvar).exp() * _randn(mu, g), -gaussian_kl(mu, logvar)

    def log_q_z(self, x, y, z):
        return normal_log_prob(z, *self.q_z_given_xy(x, y))

    def z_point(self, x, y):
        return self.q_z_given_xy(x, y)[0]

    def x_mean(self, y, z):
        return self.p_x_given_yz(y, z)

    def log_p_x(self, x, y, z):
        return normal_log_prob(x, self.x_mean(y, z), self.x_logvar)

    def sample_x(self, y, z, g=None):
        """A reparameterised spectrum from p(x|y,z): the gradient flows (official Gaussian sampler)."""
        mean = self.x_mean(y, z)
        return mean + (0.5 * self.x_logvar).exp() * _randn(mean, g)

    def log_q_x(self, x):
        return 0.0


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


def untapped_spectra(cfg: SpectraConfig, seed: int = 0) -> dict:
    """The continuous task on synthetic mixtures (``rep_utils.spectra``), laid out like the official
    CRISM demo: few pairs with compositions near the centre of the simplex, many spectra and many
    unfeatured compositions (with z drawn from N(0, I)) from the whole simplex; the test spectra
    come from the whole simplex too. Endmembers, compositions and noise all depend on ``seed``."""
    g = torch.Generator().manual_seed(seed)
    k = cfg.classes
    s = spectra.endmembers(k, cfg.channels, g=g)
    y_l = spectra.dirichlet(cfg.n_labelled, k, cfg.concentration_l, g)
    y_x = spectra.dirichlet(cfg.n_unlabelled, k, cfg.concentration_u, g)
    y_test = spectra.dirichlet(cfg.n_test, k, 1.0, g)
    mixed = [spectra.mix(y, s, cfg.noise, cfg.saturation, g) for y in (y_l, y_x, y_test)]
    return {"x_l": mixed[0], "y_l": y_l, "x_u": mixed[1],
            "y_u": spectra.dirichlet(cfg.n_unfeatured, k, 1.0, g),
            "z_u": torch.randn(cfg.n_unfeatured, cfg.z_dim, generator=g),
            "x_test": mixed[2], "y_test": y_test, "endmembers": s}


def train_ivae(split: dict, cfg: IVAEConfig, device, seed: int = 0, checkpoint=None):
    """Adam on minus eq. 8 (App. D: eps 1e-4, gradients clipped to [-1, 1]). One epoch is a pass over
    the unlabelled inputs; each step also draws a batch of pairs and of unfeatured (y, z).
    A ``SpectraConfig`` trains a ``SimplexM2``, any other config an ``M2``."""
    torch.manual_seed(seed)
    model = (SimplexM2 if isinstance(cfg, SpectraConfig) else M2)(split["x_u"].shape[1], cfg).to(device)
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
                  meta={**asdict(cfg), "seed": seed, "n": [len(v) for v in s.values()]})
    return model, history


@torch.no_grad()
def class_images(model: M2, x_l, y_l, z=None):
    """Mean image of p(x|y,z) for each one-hot y (paper Fig. 2). By default z is the mean of
    q(z|x,y) over the labelled pairs (paper §3); a [n, z_dim] z gives one row of n images per class."""
    k = model.cfg.classes
    if z is None:
        z = model.z_point(x_l, y_l).mean(0, keepdim=True)
    y = torch.eye(k, device=z.device).repeat_interleave(len(z), 0)
    return model.x_mean(y, z.repeat(k, 1))


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
    q = model.predict_y(split["x_test"].to(dev)).exp()[:, perm].cpu()
    t, new = split["t_test"], split["t_test"] >= fixed
    p_true = q[torch.arange(len(t)), t].clamp_min(1e-6)
    return {"cross_entropy": -p_true[new].log().mean().item(),
            "acc_new": (q.argmax(1) == t)[new].float().mean().item(),
            "acc_labelled": (q.argmax(1) == t)[~new].float().mean().item(),
            "coverage": len(set(probs.argmax(1).tolist())), "perm": perm}


def rmse(pred, target) -> float:
    """Root mean squared error over all entries (samples and components or channels)."""
    return (torch.as_tensor(pred, dtype=torch.float32) - target).pow(2).mean().sqrt().item()


@torch.no_grad()
def spectra_metrics(model: SimplexM2, split: dict, pls_components: int = 8) -> dict:
    """Test RMSE of the predicted compositions against two baselines: the mean labelled composition,
    and a PLS regression fitted on the pairs (official code: 8 components, ``scale=False``).
    ``endmember_rmse``: generative accuracy, the decoder's spectrum of each pure composition (at
    z = 0, the prior mean) against the noise-free true one."""
    from sklearn.cross_decomposition import PLSRegression

    cfg, dev = model.cfg, next(model.parameters()).device
    x_l, y_l, y = split["x_l"], split["y_l"], split["y_test"]
    pls = PLSRegression(min(pls_components, len(x_l) - 1), scale=False).fit(x_l.numpy(), y_l.numpy())
    pure = torch.eye(cfg.classes)
    drawn = model.x_mean(pure.to(dev), torch.zeros(cfg.classes, cfg.z_dim, device=dev)).cpu()
    return {"rmse": rmse(model.predict_y(split["x_test"].to(dev)).exp().cpu(), y),
            "rmse_pls": rmse(pls.predict(split["x_test"].numpy()), y),
            "rmse_mean": rmse(y_l.mean(0).expand_as(y), y),
            "endmember_rmse": rmse(drawn, spectra.mix(pure, split["endmembers"], saturation=cfg.saturation))}
