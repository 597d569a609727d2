"""Label-free monitoring of self-supervised training (Xu, Lowe & Trappenberg 2024,
arXiv:2409.06612), Chapter 2.

On a fixed set of unlabelled embeddings: k-means (k = number of classes unless set), the
silhouette S of that clustering, the agreement AMI(C1; C2) of two k-means runs that differ only
in their seed, and the entropy H(Z) of the embedding distribution. AMI(C1; C_GT) against the true
labels needs labels: it is computed only when labels are given, for analysis, and kept apart.

The paper does not say (in what could be read of it) which entropy estimator it uses. We use the
entropy of a Gaussian with the embeddings' covariance, H = 1/2 log det(2 pi e Sigma): in 512
dimensions with a few thousand samples, nearest-neighbour estimators (Kozachenko-Leonenko) are
strongly biased and go to minus infinity on duplicate points, while the log-determinant is stable
(with a small ridge), has a closed form to test against, and falls exactly when the embeddings
collapse onto fewer dimensions, the failure self-supervised monitoring must catch. It is an upper
bound on the true entropy for that covariance. Plugged in with the sample covariance of n points,
it is biased low by about d^2 / (4 n) nats (65 for 512 dimensions and 1,000 images), a bias that
depends on n and d only; we subtract its exact expectation for Gaussian data (Ahmed & Gokhale
1989), so entropies of embeddings of different widths or sample sizes can be compared.

Two later label-free monitors sit beside the paper's three: RankMe (Garrido et al. 2023), the
exponential of the entropy of the normalised singular values of the embeddings (d for an isotropic
cloud, k for one on a k-dimensional subspace, 1 at complete collapse), and alpha-ReQ (Agrawal et
al. 2022), the exponent alpha of the power law lambda_i ~ i^-alpha fitted to the covariance's
eigenvalues (larger alpha: variance packed into fewer directions).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, silhouette_score
from torch import nn

from .data import ImageData
from .evaluate import extract_features, linear_probe


def kmeans_labels(z: np.ndarray, k: int, seed: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(z)


def logdet_bias(n: int, d: int) -> float:
    """E[log det S] - log det Sigma for the sample covariance S of n Gaussian draws in d dimensions:
    sum_i psi((n - i) / 2) - d log((n - 1) / 2), i = 1..d (S (n - 1) is Wishart with n - 1 dof)."""
    if n <= d:
        raise ValueError(f"{n} embeddings in {d} dimensions: the covariance is singular; embed at "
                         f"least {d + 1} images (more than the embedding width).")
    return sum(_digamma((n - i) / 2) for i in range(1, d + 1)) - d * math.log((n - 1) / 2)


def _digamma(x: float) -> float:
    return torch.special.digamma(torch.tensor(x, dtype=torch.float64)).item()


def gaussian_entropy(z: torch.Tensor, ridge: float = 1e-6, unbiased: bool = True) -> float:
    """H(Z) in nats of a Gaussian with the sample covariance of ``z`` [N, d] (plus ``ridge`` I),
    minus the log-determinant's expected bias unless ``unbiased=False``."""
    z = z.double()
    n, d = z.shape
    cov = torch.cov(z.T) + ridge * torch.eye(d, dtype=z.dtype)
    bias = logdet_bias(n, d) if unbiased else 0.0
    return 0.5 * (d * math.log(2 * math.pi * math.e) + torch.logdet(cov).item() - bias)


def rankme(z: torch.Tensor, eps: float = 1e-7) -> float:
    """RankMe (Garrido et al. 2023, Eq. 1): exp(-sum_k p_k log p_k), p_k = sigma_k / ||sigma||_1 + eps,
    with sigma the singular values of the (uncentred) embeddings ``z`` [N, d]."""
    s = torch.linalg.svdvals(z.detach().double().cpu())
    p = s / s.sum() + eps
    return math.exp(-(p * p.log()).sum().item())


def alpha_req(z: torch.Tensor, floor: float = 1e-6) -> float:
    """alpha-ReQ (Agrawal et al. 2022): minus the slope of log lambda_i against log i, a least-squares
    fit over the covariance eigenvalues of ``z`` [N, d] above ``floor`` x the largest (NaN with
    fewer than two: no slope to fit)."""
    lam = torch.linalg.eigvalsh(torch.cov(z.detach().double().cpu().T).reshape(z.shape[1], -1)).flip(0)
    lam = lam[lam > floor * lam[0]]
    if len(lam) < 2:
        return math.nan
    x = torch.arange(1, len(lam) + 1, dtype=torch.float64).log()
    y = lam.log()
    return -(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()).item()


def label_free_metrics(z: torch.Tensor, k: int, labels: torch.Tensor | None = None,
                       seeds: tuple[int, int] = (0, 1)) -> dict:
    """S1, AMI(C1; C2), H(Z), RankMe and alpha-ReQ of embeddings ``z``; ``ami_labels`` =
    AMI(C1; C_GT) only if ``labels`` are given."""
    a = z.detach().float().cpu().numpy()
    c1, c2 = (kmeans_labels(a, k, s) for s in seeds)
    out = {"silhouette": float(silhouette_score(a, c1)) if len(set(c1)) > 1 else 0.0,
           "ami_seeds": float(adjusted_mutual_info_score(c1, c2)),
           "entropy": gaussian_entropy(z.detach().float().cpu()),
           "rankme": rankme(z), "alpha_req": alpha_req(z)}
    if labels is not None:
        out["ami_labels"] = float(adjusted_mutual_info_score(labels.cpu().numpy(), c1))
    return out


class Monitor:
    """A training callback for :func:`rep_utils.ssl.train_two_view`: ``monitor(encoder, epoch)``
    embeds the fixed evaluation set ``data.x_test`` (no augmentation), records S1, AMI(C1; C2),
    H(Z), RankMe and alpha-ReQ, and returns them; the training loop also calls it before the first update (epoch 0).
    With ``probe=True`` it adds the label-using references, kept under their own keys:
    ``ami_labels`` = AMI(C1; C_GT) on the same clustering, and ``linear_probe``, the test accuracy
    of a linear classifier trained on the embedded ``data.x_train``."""

    def __init__(self, data: ImageData, device: torch.device, k: int | None = None, probe: bool = True):
        self.data, self.device, self.probe = data, device, probe
        self.k = k or data.num_classes
        self.history: list[dict] = []

    def __call__(self, encoder: nn.Module, epoch: int) -> dict:
        d, (mean, std) = self.data, self.data.mean_std
        z = extract_features(encoder, d.x_test, mean, std, self.device)
        metrics = label_free_metrics(z, self.k, d.y_test if self.probe else None)
        if self.probe:
            f_train = extract_features(encoder, d.x_train, mean, std, self.device)
            metrics["linear_probe"] = linear_probe(f_train, d.y_train, z, d.y_test)
        self.history.append({"epoch": epoch + 1, **metrics})
        return metrics


def correlations(histories: dict[str, dict[int, list[dict]]], metrics, reference: str = "linear_probe",
                 skip: int = 1) -> list[dict]:
    """Spearman correlation of each metric with ``reference`` over the epochs of a run, for each
    method of ``histories`` ({method: {seed: history}}): per seed (mean and list), and pooled
    over the seeds' epochs, with all epochs and with the first ``skip`` left out ("late")."""
    from scipy.stats import spearmanr

    def rho(rows, key):
        x, y = [r[key] for r in rows], [r[reference] for r in rows]
        return float(spearmanr(x, y)[0]) if len(set(x)) > 1 and len(set(y)) > 1 else math.nan

    out = []
    for method, by_seed in histories.items():
        for key in metrics:
            per_seed = [rho(h, key) for h in by_seed.values()]
            out.append({"method": method, "metric": key, "per_seed": per_seed,
                        "pooled": rho([r for h in by_seed.values() for r in h], key),
                        "pooled_late": rho([r for h in by_seed.values() for r in h[skip:]], key)})
    return out
