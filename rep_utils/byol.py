"""BYOL: Bootstrap Your Own Latent (Grill et al., 2020, arXiv:2006.07733), Chapter 1.

An online network (encoder f, projector g, predictor q; weights theta) learns to predict a
target network's projection (encoder and projector; weights xi) of another view of the same
image. The target gets no gradient; it is an exponential moving average of the online weights.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageData
from .evaluate import extract_features, knn_accuracy, linear_probe
from .models import make_backbone, mlp
from .monitor import rankme
from .optim import LARS, lars_param_groups
from .two_view import TwoViewConfig, train_two_view


def regression_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Eq. 2 per example: ||p/||p|| - z/||z|| ||^2 = 2 - 2 cos(p, z)."""
    return 2 - 2 * F.cosine_similarity(p, z, dim=-1)


def tau_schedule(k: int, total: int, tau_base: float, tau_end: float = 1.0) -> float:
    """Sec. 3.3: tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2, from tau_base at k = 0 to 1 at
    k = K. ``tau_end`` replaces the final 1 (``tau_base = tau_end = 0``: no target network)."""
    return tau_end - (tau_end - tau_base) * (math.cos(math.pi * k / total) + 1) / 2


class BYOL(nn.Module):
    """Online network ``online = (f_theta, g_theta)`` + ``predictor = q_theta``, and the target
    ``target = (f_xi, g_xi)``. ``predictor=False`` is the ablation of Table 5(b), row 7."""

    def __init__(self, encoder: nn.Module, hidden_dim: int = 4096, out_dim: int = 256,
                 predictor: bool = True):
        super().__init__()
        self.online = nn.Sequential(encoder, mlp(encoder.feature_dim, hidden_dim, out_dim))
        self.predictor = mlp(out_dim, hidden_dim, out_dim) if predictor else nn.Identity()
        self.target = copy.deepcopy(self.online).requires_grad_(False)

    @property
    def encoder(self) -> nn.Module:
        """f_theta: the part kept after training."""
        return self.online[0]

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """L^BYOL = L + L~ (Sec. 3.1): each view's prediction regresses the target projection of
        the other view; the two terms are summed, not averaged, then averaged over the batch.
        The views go through the networks separately, so BN statistics are per view (as in the
        official code)."""
        p1, p2 = self.predictor(self.online(v1)), self.predictor(self.online(v2))
        with torch.no_grad():  # stop-gradient: the target is not trained by the loss
            z1, z2 = self.target(v1), self.target(v2)
        return (regression_loss(p1, z2) + regression_loss(p2, z1)).mean()

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """Eq. 1: xi <- tau xi + (1 - tau) theta, on the parameters only (BN statistics are not
        averaged, as in the official code)."""
        for xi, theta in zip(self.target.parameters(), self.online.parameters()):
            xi.lerp_(theta, 1 - tau)


@dataclass
class BYOLConfig(TwoViewConfig):
    """Paper defaults (Sec. 3.3, App. B and J) on CIFAR-10; ``for_profile`` sets the budget.
    colab follows solo-learn's tested CIFAR-10 recipe (LARS lr 1.0, eta 0.02, wd 1e-5, tau 0.99),
    shortened; full keeps the paper's optimiser settings. ci: on the small CNN, 960 steps with
    LARS gained 2-4 points of linear probe over the untrained encoder, AdamW at 1e-3 7 points
    (benchmarks/byol_sweep.py; chapter 1 gives the numbers)."""

    batch_size: int = 512  # the paper's App. G small-batch run; the main run uses 4096
    base_lr: float = 0.2  # scaled by batch_size / 256
    weight_decay: float = 1.5e-6
    solarize_p: tuple[float, float] = (0.0, 0.2)  # paper's blur (1.0, 0.1) dropped on 32x32 images
    hidden_dim: int = 4096
    out_dim: int = 256
    predictor: bool = True
    optimizer: str = "lars"  # or "adamw" (the ci profile: short CPU runs)
    eta: float = 1e-3  # LARS trust coefficient
    tau_base: float = 0.996
    tau_end: float = 1.0

    short: ClassVar[dict] = dict(base_lr=1.0, eta=0.02, weight_decay=1e-5, tau_base=0.99)
    # colab: 5 epochs x 4 runs, ~9 GFLOP per image per step, so ~1 min per epoch at the ~8 TFLOP/s
    # a T4 sustains in fp16 (an estimate; see the chapter's runtime table)
    budget: ClassVar[dict] = {"ci": dict(epochs=8, hidden_dim=512, out_dim=128, optimizer="adamw",
                                         base_lr=2e-3, weight_decay=1e-4),
                              "colab": dict(epochs=5)}


@torch.no_grad()
def collapse_metrics(model: BYOL, x: torch.Tensor, mean, std, device: torch.device) -> dict:
    """Two measures of collapse of the online projections z of uint8 images ``x``: ``z_std``, the
    mean over dimensions of the per-dimension std of the l2-normalised z (about 1/sqrt(out_dim)
    when well spread, 0 at collapse), and ``rankme_z``, RankMe of z (the number of directions in
    use; 1 at collapse)."""
    z = extract_features(model.online, x, mean, std, device)
    return {"z_std": F.normalize(z, dim=1).std(0).mean().item(), "rankme_z": rankme(z)}


# The paper's ablations (Table 5): each changes one field of the config.
ABLATIONS = {"no predictor": {"predictor": False},  # Table 5(b), row 7: 0.2% on ImageNet
             "no target (τ = 0)": {"tau_base": 0.0, "tau_end": 0.0},  # Table 5(a): 0.3%
             "fixed random target (τ = 1)": {"tau_base": 1.0, "tau_end": 1.0}}  # Table 5(a): 18.8%


def scores(model: BYOL, data: ImageData, device: torch.device) -> dict:
    """How good and how collapsed a BYOL network is: the linear probe and kNN accuracy of its
    frozen encoder features f (train -> test), RankMe of f on the test images, and
    :func:`collapse_metrics` of its test projections z."""
    mean, std = data.mean_std
    f_train, f_test = (extract_features(model.encoder, x, mean, std, device)
                       for x in (data.x_train, data.x_test))
    return {"linear_probe": linear_probe(f_train, data.y_train, f_test, data.y_test),
            "knn": knn_accuracy(f_train, data.y_train, f_test, data.y_test),
            "rankme_f": rankme(f_test), **collapse_metrics(model, data.x_test, mean, std, device)}


def make_optimizer(params: nn.Module, cfg: BYOLConfig) -> torch.optim.Optimizer:
    """LARS (App. J) or AdamW, with weight decay on the weight matrices only (Sec. 3.3)."""
    groups = lars_param_groups(params, cfg.weight_decay)
    if cfg.optimizer == "lars":
        return LARS(groups, lr=0.0, momentum=cfg.momentum, eta=cfg.eta)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=0.0)
    raise ValueError(f"optimizer={cfg.optimizer!r}: choose 'lars' or 'adamw'.")


def build_byol(cfg: BYOLConfig, in_channels: int, seed: int, device: torch.device) -> BYOL:
    """The network ``train_byol`` starts from for ``seed``: its untrained baseline."""
    torch.manual_seed(seed)
    encoder = make_backbone(cfg.backbone, in_channels)
    return BYOL(encoder, cfg.hidden_dim, cfg.out_dim, cfg.predictor).to(device)


def train_byol(data: ImageData, cfg: BYOLConfig, device: torch.device, seed: int = 0,
               checkpoint=None, desc: str = "BYOL", monitor=None,
               progress: bool = True) -> tuple[BYOL, list[dict]]:
    """Pre-train on ``data.x_train`` (labels unused) with the shared two-view loop
    (:func:`rep_utils.two_view.train_two_view`; ``monitor`` as there). The history holds per epoch
    the loss, tau, the learning rate and :func:`collapse_metrics` of the test projections; its
    first row (epoch 0) is the untrained network's."""
    data = data.for_config(cfg)
    model = build_byol(cfg, data.x_train.shape[1], seed, device)
    opt = make_optimizer(nn.ModuleList([model.online, model.predictor]), cfg)
    mean, std = data.mean_std

    def after_step(k, total):
        tau = tau_schedule(k, total, cfg.tau_base, cfg.tau_end)
        model.update_target(tau)
        return {"tau": tau}

    def collapse(epoch):
        return collapse_metrics(model, data.x_test, mean, std, device)

    history = train_two_view(model, opt, data, cfg, device=device, seed=seed, checkpoint=checkpoint,
                             desc=desc, after_step=after_step, on_epoch_end=collapse, monitor=monitor,
                             progress=progress)
    return model, history
