"""The compositions of the inverted-VAE chapter (chapter 5): spectra x of mixtures whose composition
y lies on the probability simplex, as in the paper's spectroscopy runs (LIBS, CRISM) and as the
official code builds them. ``SimplexM2`` gives the bounds of ``ivae`` the densities of y on the
simplex and of Gaussian spectra; ``untapped_spectra`` is the synthetic task (``rep_utils.spectra``),
``spectra_metrics`` its scores.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import kl_divergence

from . import spectra
from .densities import additive_logistic, log_logistic_normal, normal, rsample
from .evaluate import rmse
from .ivae import M2, IVAEConfig
from .profiles import by_profile


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

    def build_model(self, x_dim: int) -> "SimplexM2":
        return SimplexM2(x_dim, self)


class SimplexM2(M2):
    """The same networks for compositions y on the simplex: q(y|x) is a Gaussian in R^(K-1) pushed
    through the additive-logistic flow (official code, ``NormalizingSimplexFlowLayer``), p(y) is
    uniform on the simplex; p(x|y,z) is Gaussian with a learned scale per channel (the official
    code adds a softplus flow for positive intensities, which we drop), and q(x) is flat (improper,
    "uniform over positive intensities" in the official code), so log q(x) = 0. z has a N(0, I)
    prior and a Gaussian q(z|x,y) (our choice; the paper's box would do too)."""
    y_outputs = staticmethod(lambda k: 2 * (k - 1))  # mean and log-variance of eta in R^(K-1)

    def __init__(self, x_dim: int, cfg: SpectraConfig):
        super().__init__(x_dim, cfg)
        self.x_logvar = nn.Parameter(torch.full((x_dim,), cfg.x_logvar_init))

    def sample_y(self, x, g=None):
        mu, logvar = self.q_y_given_x(x).chunk(2, 1)
        y = additive_logistic(rsample(normal(mu, logvar), g))
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
        """z ~ q(z|x,y), and the closed-form E_q[log p(z) - log q(z|x,y)] = -KL(q || N(0, I)) (Kingma &
        Welling 2014, App. B)."""
        mu, logvar = self.q_z_given_xy(x, y)
        q = normal(mu, logvar)
        return rsample(q, g), -kl_divergence(q, normal(torch.zeros_like(mu), torch.zeros_like(logvar)))

    def log_q_z(self, x, y, z):
        return normal(*self.q_z_given_xy(x, y)).log_prob(z)

    def z_point(self, x, y):
        return self.q_z_given_xy(x, y)[0]

    def x_mean(self, y, z):
        return self.p_x_given_yz(y, z)

    def log_p_x(self, x, y, z):
        return normal(self.x_mean(y, z), self.x_logvar).log_prob(x)

    def sample_x(self, y, z, g=None):
        """A reparameterised spectrum from p(x|y,z): the gradient flows (official Gaussian sampler)."""
        return rsample(normal(self.x_mean(y, z), self.x_logvar), g)

    def log_q_x(self, x):
        return 0.0


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


@torch.no_grad()
def spectra_predictions(model: SimplexM2, split: dict, pls_components: int = 8) -> dict:
    """The test compositions predicted by ``model`` (``y``) and by a PLS regression fitted on the
    pairs (``y_pls``; official code: 8 components, ``scale=False``), and the decoder's spectrum of
    each pure composition at z = 0, the prior mean (``pure``)."""
    from sklearn.cross_decomposition import PLSRegression

    cfg, dev = model.cfg, next(model.parameters()).device
    pls = PLSRegression(min(pls_components, len(split["x_l"]) - 1), scale=False)
    pls.fit(split["x_l"].numpy(), split["y_l"].numpy())
    return {"y": model.predict_y(split["x_test"].to(dev)).exp().cpu(),
            "y_pls": torch.as_tensor(pls.predict(split["x_test"].numpy()), dtype=torch.float32),
            "pure": model.x_mean(torch.eye(cfg.classes, device=dev), torch.zeros(cfg.classes, cfg.z_dim, device=dev)).cpu()}


def spectra_metrics(model: SimplexM2, split: dict, pls_components: int = 8) -> dict:
    """Test RMSE of the predicted compositions against two baselines, the mean labelled composition
    and PLS (:func:`spectra_predictions`); ``endmember_rmse``: generative accuracy, the decoder's
    pure spectra against the noise-free true ones."""
    p, y = spectra_predictions(model, split, pls_components), split["y_test"]
    true_pure = spectra.mix(torch.eye(model.cfg.classes), split["endmembers"], saturation=model.cfg.saturation)
    return {"rmse": rmse(p["y"], y), "rmse_pls": rmse(p["y_pls"], y), "rmse_mean": rmse(split["y_l"].mean(0).expand_as(y), y),
            "endmember_rmse": rmse(p["pure"], true_pure)}


def _simplex_xy(y: torch.Tensor):
    """Barycentric coordinates to the plane (corners: components 1, 2, 3)."""
    return (y[:, 1] + 0.5 * y[:, 2]).numpy(), (0.5 * 3 ** 0.5 * y[:, 2]).numpy()


def show_task(split: dict, cfg: SpectraConfig):
    """The task at a glance: the pure-component spectra, three test spectra, and where the pairs
    and the unfeatured compositions lie on the simplex."""
    import matplotlib.pyplot as plt

    grid, k = torch.linspace(0, 1, cfg.channels), cfg.classes
    fig = plt.figure(figsize=(7, 5.6))  # two spectra panels above, the simplex below
    axes = [fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2), fig.add_subplot(2, 1, 2)]
    pure = spectra.mix(torch.eye(k), split["endmembers"], saturation=cfg.saturation)
    for i in range(k):
        axes[0].plot(grid, pure[i], label=f"pure component {i + 1}")
    for i in range(3):
        axes[1].plot(grid, split["x_test"][i], lw=1, label="y = (" + ", ".join(f"{v:.2f}" for v in split["y_test"][i]) + ")")
    for ax, title in zip(axes, ["pure-component spectra (no noise)", "test spectra"]):
        ax.set(title=title, xlabel="channel (wavelength, arbitrary units)")
        ax.legend(fontsize=8)
    axes[2].scatter(*_simplex_xy(split["y_u"][:500]), s=2, color="0.7", label="unfeatured y (500 shown)")
    axes[2].scatter(*_simplex_xy(split["y_l"]), s=12, color="C3", label="labelled pairs")
    axes[2].plot([0, 1, 0.5, 0], [0, 0, 0.75 ** 0.5, 0], color="k", lw=0.8)
    axes[2].set_aspect("equal")
    axes[2].set_axis_off()
    axes[2].set_title("compositions on the simplex")
    axes[2].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def show_predictions(split: dict, predictions: dict, cfg: SpectraConfig):
    """Predicted against true fraction of component 1 for each of three predictors (``predictions``:
    name -> {"y": compositions, optionally "pure": decoded pure spectra}), coloured by the distance
    from the simplex's centre, and the decoded pure spectra against the true ones."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(7, 6))
    axes, y = axes.flat, split["y_test"]
    centre = (y - 1 / 3).norm(dim=1)
    for ax, (name, p) in zip(axes, predictions.items()):
        im = ax.scatter(y[:, 0], p["y"][:, 0], s=3, c=centre, cmap="viridis")
        ax.plot([0, 1], [0, 1], color="k", lw=0.8)
        ax.set(xlabel="true fraction of component 1", title=f"{name}: RMSE {rmse(p['y'], y):.3f}")
    for ax in (axes[0], axes[2]):
        ax.set_ylabel("predicted fraction")
    fig.colorbar(im, ax=axes[2], label="distance from the centre")
    grid = torch.linspace(0, 1, cfg.channels)
    truth = spectra.mix(torch.eye(cfg.classes), split["endmembers"], saturation=cfg.saturation)
    with_pure = [(name, p["pure"]) for name, p in predictions.items() if "pure" in p]
    styled = [(name, pure, ls, word) for (name, pure), (ls, word) in zip(with_pure, [(":", "dotted"), ("--", "dashed")])]
    for i in range(cfg.classes):
        axes[3].plot(grid, truth[i], color=f"C{i}", lw=1.5)
        for _, pure, ls, _ in styled:
            axes[3].plot(grid, pure[i], color=f"C{i}", ls=ls, lw=1)
    axes[3].set_title("pure spectra: true (solid),\n" + ", ".join(f"{name} ({word})" for name, _, _, word in styled))
    fig.tight_layout()
    return fig
