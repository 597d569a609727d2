"""GEDI: self-supervised clustering unified with an energy-based model (Sansone & Manhaeve, TMLR 2025,
arXiv 2401.00873; the three-term objective is stated in Sansone, arXiv 2309.15420).

One backbone (encoder f, projector g) gives cluster logits z(x) = g(f(x)) / tau. They define both

    the cluster posterior   p(y|x) = softmax(z(x))_y
    the energy (JEM-style)  E(x)  = -logsumexp_y z(x)_y,   p(x) ∝ exp(-E(x)),

and the loss is minus a lower bound on the data log-likelihood with three terms, each against one
failure mode of the "triad": a generative term (contrastive divergence with Langevin samples from a
replay buffer) against representation collapse, an invariance term across two augmented views
(no stop-gradient) against permutations of the cluster labels, and a uniformity term against
cluster collapse. The invariance and uniformity forms follow the author's later code
(CPLearn's ``gedi_nogen``); the energy and the sampler follow JEM (Grathwohl et al., 2019),
because the paper's own equations and code could not be read.

The same code runs on 2-D points (an MLP encoder, views by Gaussian noise) and on images (a
``rep_utils.models`` backbone, views by ``rep_utils.augment.Augment``, pixels scaled to [-1, 1] and
Langevin chains in image space, as in JEM). Runs and their scores: :mod:`rep_utils.gedi_scores`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn

from .augment import Augment
from .checks import validate_config
from .data import normalize
from .models import SmallCNN, make_backbone
from .profiles import by_profile
from .sgld import ReplayBuffer, sgld_sample
from .train import fit


@dataclass
class GEDIConfig:
    """2-D toy setting (moons, circles). ``gen``/``inv``/``prior`` switch the three terms."""

    backbone: str = "mlp"  # "mlp": 2 -> hidden -> hidden (SiLU); else a rep_utils.models backbone
    hidden: int = 128
    n_clusters: int = 2
    tau: float = 0.5  # logit temperature; ours: at CPLearn's 0.1 random starts cut the circles straight
    gen: bool = True
    inv: bool = True
    prior: bool = True
    lambda_gen: float = 1.0
    lambda_inv: float = 1.0
    lambda_prior: float = 1.0
    warmup: int = 3000  # ours: steps of the generative term alone before the clustering terms join
    energy_l2: float = 0.1  # 0.1 * (E_data^2 + E_sample^2): JEM's advice against diverging energies
    sigma: float = 0.1  # std of the Gaussian noise added to each view (data are standardised)
    augment: Augment | None = None  # images: each view is augmented first (pixels in [0, 1])
    n_train: int = 2000
    iterations: int = 7000  # Adam steps, up to whole epochs (train_gedi); "7k iterations using Adam ... 1e-3" (paper)
    batch_size: int = 400
    lr: float = 1e-3
    sgld_steps: int = 20
    sgld_step_size: float = 0.05
    sgld_noise: float = math.sqrt(2 * 0.05)  # temperature noise^2 / (2 step) = 1: samples of p(x) itself
    buffer_size: int = 10_000
    reinit: float = 0.05
    box: float = 3.0  # chains start uniform in [-box, box]^dim and are clamped to it
    max_energy: float = 1e4  # divergence guard
    pinned_warn: float | None = 0.5  # warn when more chains than this end on the box (None: never)

    __post_init__ = validate_config  # types and ranges checked when the config is built

    @classmethod
    def for_profile(cls, profile: str) -> "GEDIConfig":
        # ci and colab alike: the 2-D runs stay on one CPU thread in every profile (the profiles
        # differ in seeds), so the paper's 7,000 steps x 20 Langevin steps are left to full
        ci = replace(cls(), n_train=1000, iterations=700, warmup=300, batch_size=200, lr=3e-3,
                     sgld_steps=5, buffer_size=2000)
        return by_profile({"ci": ci, "colab": ci, "full": cls()}, profile)


@dataclass
class GEDIImageConfig(GEDIConfig):
    """Images: pixels scaled to [-1, 1]; the sampler, buffer and data noise are JEM's defaults
    (SGLD step 1, noise 0.01, 20 steps, buffer 10,000 with 5% restarts from uniform noise, data
    noise 0.03, Adam lr 1e-4, batch 64); c = 10 clusters for the 10 classes."""

    backbone: str = "small_cnn"
    width: int = 32  # SmallCNN channels (ignored by other backbones)
    tau: float = 0.1  # CPLearn's
    warmup: int = 0
    n_clusters: int = 10
    lambda_inv: float = 5.0  # ours: at 1, posteriors stay near uniform (a 3rd-party port: 50 vs 10)
    sigma: float = 0.03
    augment: Augment | None = field(default_factory=lambda: Augment(
        size=28, crop_scale=(0.5, 1.0), flip_p=0.0, jitter_p=0.0, gray_p=0.0))
    n_train: int | None = None  # None: every training image loaded
    n_test: int | None = None
    iterations: int = 20_000
    batch_size: int = 64
    lr: float = 1e-4
    sgld_steps: int = 20
    sgld_step_size: float = 1.0
    sgld_noise: float = 0.01
    box: float = 1.0
    pinned_warn: float | None = None  # background pixels rightly sit on the cube's faces

    @classmethod
    def for_profile(cls, profile: str, dataset: str = "mnist") -> "GEDIImageConfig":
        ci = replace(cls(), width=8, n_train=2000, n_test=2000, iterations=124, batch_size=32,
                     lr=2e-3, sgld_steps=5, buffer_size=500)
        # CIFAR-10: ResNet-18 (ci: the small CNN, to run on a CPU), crops, flips, light colour jitter;
        # colab: whole passes (train_gedi rounds up to them), 5 of MNIST and 2 of CIFAR-10 at batch 64
        aug = Augment(size=32, crop_scale=(0.5, 1.0), jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.1, gray_p=0.1)
        cifar = replace(cls(), backbone="resnet18", augment=aug)
        return by_profile({("mnist", "ci"): ci, ("mnist", "colab"): replace(cls(), iterations=4685, lr=3e-4),
                            ("mnist", "full"): cls(), ("cifar10", "ci"): replace(ci, augment=aug),
                            ("cifar10", "colab"): replace(cifar, iterations=1562, sgld_steps=5, lr=3e-4),
                            ("cifar10", "full"): cifar}, (dataset, profile), "(dataset, profile)")


class GEDI(nn.Module):
    """Encoder f and linear projector g; ``forward`` gives the cluster logits."""

    def __init__(self, cfg: GEDIConfig, in_shape: tuple[int, ...] = (2,)):
        super().__init__()
        if cfg.backbone == "mlp":
            h = cfg.hidden
            self.encoder = nn.Sequential(nn.Linear(in_shape[0], h), nn.SiLU(), nn.Linear(h, h), nn.SiLU())
        elif cfg.backbone == "small_cnn":
            self.encoder = SmallCNN(in_shape[0], cfg.width)
        else:
            self.encoder = make_backbone(cfg.backbone, in_shape[0])
        feature_dim = getattr(self.encoder, "feature_dim", cfg.hidden)
        self.projector = nn.Linear(feature_dim, cfg.n_clusters)
        self.tau = cfg.tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster logits z(x) = g(f(x)) / tau."""
        return self.projector(self.encoder(x)) / self.tau

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return energy(self(x))


def energy(logits: torch.Tensor) -> torch.Tensor:
    """E(x) = -logsumexp_y z_y: the unnormalised p(x) = sum_y exp(z_y) of JEM's joint p(x, y)."""
    return -torch.logsumexp(logits, dim=1)


def generative_loss(e_data: torch.Tensor, e_samples: torch.Tensor, l2: float = 0.0) -> torch.Tensor:
    """Contrastive divergence: its gradient is that of -E_data[log p(x)] when ``e_samples`` are
    (detached) samples of the model, since d log Z = -E_model[dE]. ``l2`` keeps energies near 0."""
    return e_data.mean() - e_samples.mean() + l2 * (e_data.pow(2).mean() + e_samples.pow(2).mean())


def invariance_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Cross-entropy -mean_i sum_y p(y|x''_i) log p(y|x'_i) between two views, gradients through
    both (no stop-gradient), one direction as in the author's code."""
    return -(z2.softmax(1) * z1.log_softmax(1)).sum(1).mean()


def uniformity_loss(z: torch.Tensor) -> torch.Tensor:
    """-sum_y log pbar_y with pbar = the batch mean of p(y|x): >= c log c, equal iff pbar is uniform.
    log pbar is computed as a logsumexp over the batch, so an empty cluster gives a large finite loss."""
    log_pbar = torch.logsumexp(z.log_softmax(1), dim=0) - math.log(len(z))
    return -log_pbar.sum()


def check_energy(e: torch.Tensor, limit: float, step: int) -> None:
    """Divergence guard: stop on a non-finite or exploding energy, naming the knobs to turn."""
    worst = e.detach().abs().max().item()
    if not math.isfinite(worst) or worst > limit:
        raise FloatingPointError(
            f"GEDI diverged at iteration {step}: |energy| reached {worst:.3g} (limit max_energy={limit:g}). Lower the "
            "learning rate (cfg.lr), raise cfg.energy_l2 or cfg.sgld_steps, or restart with another seed.")


def scale_pixels(x: torch.Tensor) -> torch.Tensor:
    """Images (uint8, or float in [0, 1]) to [-1, 1], the range in which JEM's sampler settings apply."""
    half = (0.5,) * x.shape[1]
    return normalize(x, half, half)


def make_views(x: torch.Tensor, cfg: GEDIConfig, g: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """Two views x', x'' of a batch: each augmented (images) and given Gaussian noise of std sigma."""
    x1, x2 = (x, x) if cfg.augment is None else (scale_pixels(cfg.augment((x + 1) / 2, g)) for _ in range(2))
    return tuple(v + cfg.sigma * torch.randn(v.shape, device=v.device, generator=g) for v in (x1, x2))


def make_buffer(cfg: GEDIConfig, shape: tuple[int, ...], device,
                g: torch.Generator | None = None) -> ReplayBuffer:
    """Persistent chains started uniformly in the box [-box, box]^shape (JEM: 5% restarted each draw)."""
    def init(n, gen):
        return (2 * torch.rand(n, *shape, device=device, generator=gen) - 1) * cfg.box
    return ReplayBuffer(init, cfg.buffer_size, cfg.reinit, g)


def gedi_loss(model: GEDI, x: torch.Tensor, buffer: ReplayBuffer, cfg: GEDIConfig,
              g: torch.Generator, step: int = 0) -> tuple[torch.Tensor, dict]:
    """The negative lower bound on a batch ``x``: the enabled terms, weighted, and their values."""
    if not (cfg.gen or cfg.inv or cfg.prior):
        raise ValueError("GEDIConfig switches off all three terms (gen, inv, prior): nothing to train.")
    batch = list(make_views(x, cfg, g))
    if cfg.gen:  # negatives: a few Langevin steps on -E from the replay buffer (JEM's PCD)
        x0, idx = buffer.draw(len(x), g)
        model.eval()  # BatchNorm in inference mode while sampling
        xs = sgld_sample(lambda u: -model.energy(u), x0, cfg.sgld_steps, cfg.sgld_step_size,
                         cfg.sgld_noise, clamp=(-cfg.box, cfg.box), g=g, warn_pinned=cfg.pinned_warn)
        model.train()
        buffer.push(xs, idx)
        batch.append(xs)
    z = model(torch.cat(batch)).split(len(x))  # one pass: BatchNorm sees views and samples together
    terms = {"inv": invariance_loss(z[0], z[1]), "prior": uniformity_loss(z[0])}  # both logged always
    e = energy(z[0])
    if cfg.gen:
        e_s = energy(z[2])
        terms["gen"] = generative_loss(e, e_s, cfg.energy_l2)
        e = torch.cat([e, e_s])
    check_energy(e, cfg.max_energy, step)
    warm = cfg.gen and step < cfg.warmup
    on = [k for k in ("gen", "inv", "prior") if getattr(cfg, k) and (k == "gen" or not warm)]
    loss = sum(getattr(cfg, f"lambda_{k}") * terms[k] for k in on)
    return loss, {k: v.detach() for k, v in terms.items()}


def train_gedi(x: torch.Tensor, cfg: GEDIConfig, device, seed: int = 0, checkpoint=None,
               on_epoch_end=None, progress: bool = True) -> tuple[GEDI, ReplayBuffer, list[dict]]:
    """Adam on the GEDI loss over the unlabelled inputs ``x`` (2-D points, or images scaled to [-1, 1] with
    :func:`scale_pixels`), in ceil(iterations / s) whole epochs of s = len(x) // batch_size steps: ``iterations``
    rounded up to a multiple of s (all 60,000 MNIST digits in batches of 64: 5 x 937 = 4,685 steps for 4,000)."""
    torch.manual_seed(seed)
    model = GEDI(cfg, x.shape[1:]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    buffer = make_buffer(cfg, x.shape[1:], device, torch.Generator(device).manual_seed(seed))
    x = x.to(device)

    def step(idx, g, k):
        loss, terms = gedi_loss(model, x[idx], buffer, cfg, g, k)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), **terms}

    epochs = math.ceil(cfg.iterations / max(1, len(x) // cfg.batch_size))  # 0 steps an epoch: fit says what to do
    history = fit({"model": model, "opt": opt, "buffer": buffer}, step, n=len(x), epochs=epochs,
                  batch_size=cfg.batch_size, seed=seed, device=device, checkpoint=checkpoint,
                  on_epoch_end=on_epoch_end, desc="GEDI", meta={**asdict(cfg), "seed": seed}, progress=progress)
    return model, buffer, history

