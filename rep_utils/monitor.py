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
bound on the true entropy for that covariance.
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


def gaussian_entropy(z: torch.Tensor, ridge: float = 1e-6) -> float:
    """H(Z) in nats of a Gaussian with the sample covariance of ``z`` [N, d] (plus ``ridge`` I)."""
    z = z.double()
    cov = torch.cov(z.T) + ridge * torch.eye(z.shape[1], dtype=z.dtype)
    return 0.5 * (z.shape[1] * math.log(2 * math.pi * math.e) + torch.logdet(cov).item())


def label_free_metrics(z: torch.Tensor, k: int, labels: torch.Tensor | None = None,
                       seeds: tuple[int, int] = (0, 1)) -> dict:
    """S1, AMI(C1; C2) and H(Z) of embeddings ``z``; ``ami_labels`` = AMI(C1; C_GT) only if
    ``labels`` are given."""
    a = z.detach().float().cpu().numpy()
    c1, c2 = (kmeans_labels(a, k, s) for s in seeds)
    out = {"silhouette": float(silhouette_score(a, c1)) if len(set(c1)) > 1 else 0.0,
           "ami_seeds": float(adjusted_mutual_info_score(c1, c2)),
           "entropy": gaussian_entropy(z.detach().float().cpu())}
    if labels is not None:
        out["ami_labels"] = float(adjusted_mutual_info_score(labels.cpu().numpy(), c1))
    return out


class Monitor:
    """A training callback for :func:`rep_utils.ssl.train_two_view`: ``monitor(encoder, epoch)``
    embeds the fixed evaluation set ``data.x_test`` (no augmentation), records S1, AMI(C1; C2)
    and H(Z), and returns them; the training loop also calls it before the first update (epoch 0).
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
