"""Runs and scores of GEDI (:mod:`rep_utils.gedi`), as Chapter 4 reports them: the 2-D toy sets, one
number per failure mode of the triad, a whole run on a toy set or an image set, and the clusters
and energies of test images."""
from __future__ import annotations

import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from .augment import grayscale
from .evaluate import cluster_scores, cluster_use, energy_auroc, predict
from .gedi import GEDI, GEDIConfig, energy, make_views, scale_pixels, train_gedi

BATCH = 1000  # inputs per frozen forward pass


def toy_2d(name: str, n: int = 2000, noise: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D toy sets ``'moons'`` and ``'circles'`` (scikit-learn generators), standardised."""
    from sklearn import datasets

    makers = {"moons": lambda: datasets.make_moons(n, noise=noise, random_state=seed),
              "circles": lambda: datasets.make_circles(n, noise=noise, factor=0.5, random_state=seed)}
    if name not in makers:
        raise ValueError(f"Unknown toy set {name!r}; choose one of {sorted(makers)}.")
    x, y = makers[name]()
    x = (x - x.mean(0)) / x.std(0)
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)


def auroc_vs(model: GEDI, z_in: torch.Tensor, x_out: torch.Tensor) -> float:
    """AUROC of -E(x) for the inputs whose logits are ``z_in`` against the inputs ``x_out``."""
    return energy_auroc(energy(z_in), energy(predict(model, x_out.to(z_in.device), batch_size=BATCH)))


@torch.no_grad()
def triad_diagnostics(model: GEDI, x: torch.Tensor, cfg: GEDIConfig, g: torch.Generator | None = None) -> dict:
    """One number per failure mode, on inputs ``x``.

    - ``density_auroc``: how well -E(x) tells the data from uniform noise in the box (0.5: the
      model ignores where the data lie: what the generative term adds to the representation);
    - ``largest_cluster``: the share of points in the most used cluster (1.0: cluster collapse);
    - ``view_agreement``: the chance that two views, each given a cluster drawn from its
      posterior, get the same one (1/c: labels are arbitrary, free to permute across views)."""
    z = predict(model, x, batch_size=BATCH)
    p1, p2 = (predict(model, v, batch_size=BATCH).softmax(1) for v in make_views(x, cfg, g))
    noise = (2 * torch.rand(x.shape, device=x.device, generator=g) - 1) * cfg.box
    return {"density_auroc": auroc_vs(model, z, noise),
            "largest_cluster": cluster_use(z.argmax(1), cfg.n_clusters)["largest_cluster"],
            "view_agreement": (p1 * p2).sum(1).mean().item()}


def toy_config(profile: str, iterations: int | None = None) -> GEDIConfig:
    """The profile's 2-D config; another number of ``iterations`` keeps the warm-up's share of them."""
    c = GEDIConfig.for_profile(profile)
    return c if iterations is None else replace(c, iterations=iterations, warmup=round(c.warmup * iterations / c.iterations))


def toy_run(name: str, cfg: GEDIConfig, seed: int = 0, progress: bool = False) -> dict:
    """Train on the 2-D set ``name`` (``cfg.n_train`` points, data seed 0; one CPU thread is the
    fastest device for an MLP this small) and score on 1,000 test points (data seed 1): the NMI,
    the triad's diagnostics and the wall time, beside the model, its buffer and history."""
    (x, _), (x_test, y_test) = toy_2d(name, cfg.n_train, seed=0), toy_2d(name, 1000, seed=1)
    t0 = time.perf_counter()
    model, buffer, history = train_gedi(x, cfg, "cpu", seed=seed, progress=progress)
    assigned = predict(model, x_test, batch_size=BATCH).argmax(1)
    return dict(model=model, buffer=buffer, history=history, assigned=assigned,
                nmi=cluster_scores(assigned, y_test, cfg.n_clusters)["nmi"],
                **triad_diagnostics(model, x_test, cfg, torch.Generator().manual_seed(seed)),
                seconds=time.perf_counter() - t0)


class ToyRuns(dict):
    """Toy runs of ``cfg`` with some fields overridden, each trained once and kept under
    (data set, overrides, seed): the triad, the comparison and the checks share them."""

    def __init__(self, cfg: GEDIConfig):
        super().__init__()
        self.cfg = cfg

    def __call__(self, name: str, overrides: dict, seed: int) -> dict:
        key = (name, tuple(sorted(overrides.items())), seed)
        if key not in self:
            self[key] = toy_run(name, replace(self.cfg, **overrides), seed=seed)
        return self[key]

    def summary(self) -> str:
        """One line for the runs so far, in place of a progress bar per run."""
        return f"{len(self)} runs so far, {sum(r['seconds'] for r in self.values()) / 60:.1f} min of training"


def ood_sets(mnist_test: torch.Tensor, cifar_test: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
    """Each image set's out-of-distribution images, scaled to [-1, 1] as it is: CIFAR-10's test images
    in grey at 28x28 for MNIST, the first 2,000 test digits padded to 32x32 RGB for CIFAR-10."""
    grey28 = F.interpolate(grayscale(cifar_test.float() / 255)[:, :1], size=28, mode="bilinear", antialias=True)
    mnist32 = F.pad(mnist_test[:2000], (2, 2, 2, 2)).expand(-1, 3, -1, -1)
    return {"mnist": {"CIFAR-10, grey 28x28": scale_pixels(grey28)}, "cifar10": {"MNIST, 32x32 RGB": scale_pixels(mnist32)}}


def image_scores(model: GEDI, x_test: torch.Tensor, y_test: torch.Tensor, cfg: GEDIConfig,
                 ood: dict, seed: int = 0) -> dict:
    """Clusters of test images (scaled to [-1, 1]) against their classes (NMI, accuracy, and the NMI
    of the same clusters shuffled: chance), the clusters holding >= 1% of them, the triad's
    diagnostics, and the energy's AUROC against each out-of-distribution set in ``ood``."""
    z = predict(model, x_test, batch_size=BATCH)
    a = z.argmax(1)
    shuffled = a[torch.randperm(len(a), generator=torch.Generator().manual_seed(seed)).to(a.device)]
    return dict(assigned=a.cpu(), **cluster_scores(a, y_test, cfg.n_clusters),
                chance_nmi=cluster_scores(shuffled, y_test, cfg.n_clusters)["nmi"],
                clusters_used=cluster_use(a, cfg.n_clusters)["clusters_used"],
                **triad_diagnostics(model, x_test, cfg, torch.Generator(x_test.device).manual_seed(seed)),
                **{f"auroc {k}": auroc_vs(model, z, v) for k, v in ood.items()})


def image_run(d, ood: dict, device):
    """A run for :func:`~rep_utils.sweep.sweep` on the image set ``d`` (an ``ImageData``):
    ``train_gedi`` on its training images (resumed from the checkpoint), then ``image_scores`` of
    its test images against ``ood``; returns the model, buffer and history with the scores."""
    x_test = scale_pixels(d.x_test).to(device)

    def run(cfg: GEDIConfig, seed: int, checkpoint) -> dict:
        model, buffer, history = train_gedi(scale_pixels(d.x_train), cfg, device, seed, checkpoint, progress=False)
        return dict(model=model, buffer=buffer, history=history, **image_scores(model, x_test, d.y_test, cfg, ood, seed))
    return run


def cluster_rows(x: torch.Tensor, assigned: torch.Tensor, n_clusters: int, per: int = 8) -> torch.Tensor:
    """``per`` images of each cluster, a row each (blank, value 1, where a cluster holds fewer), for
    :func:`~rep_utils.plots.show_images` with ``nrow=per``."""
    rows = [x[assigned == k][:per] for k in range(n_clusters)]
    return torch.cat([torch.cat([r, torch.ones(per - len(r), *x.shape[1:])]) for r in rows])


def show_run(ax, run: dict, x: torch.Tensor, box: float, title: str, n: int = 121) -> None:
    """A 2-D run on axes ``ax``: the clusters of the test points ``x`` over the model's log-density
    -E on an n x n grid of the box (grey from its median to its 99.5th percentile, darker is more
    probable), with replay-buffer samples (green) where the run had the generative term."""
    g = torch.linspace(-box, box, n)
    with torch.no_grad():
        neg_e = -run["model"].energy(torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2))
    lo, hi = neg_e.quantile(torch.tensor([0.5, 0.995])).tolist()
    ax.imshow(neg_e.reshape(n, n), extent=(-box, box, -box, box), origin="lower", cmap="Greys", vmin=lo, vmax=hi)
    ax.scatter(x[:, 0], x[:, 1], c=run["assigned"], cmap="coolwarm", s=3, vmin=0, vmax=1)
    if "gen" in run["history"][-1]:
        s = run["buffer"].samples[:400]
        ax.scatter(s[:, 0], s[:, 1], marker="x", s=6, c="limegreen", lw=0.7)
    ax.set(title=title, xticks=[], yticks=[])
