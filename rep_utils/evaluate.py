"""Frozen-network evaluation (defined in the Setup chapter): one batched forward pass (``predict``),
features of a backbone, the linear probe and the weighted kNN classifier that self-supervised
papers report, and the scores of clusters (NMI, Hungarian accuracy, how the clusters are used)
and of an energy as an out-of-distribution detector (AUROC)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .data import normalize


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, device: torch.device | None = None, batch_size: int = 1024,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``net(transform(batch))`` over ``x`` in batches (moved to ``device``, default ``x``'s), in eval
    mode and without gradients, as float: every frozen forward pass of the book (features, logits,
    cluster scores). The network's train/eval mode is restored afterwards."""
    was_training = net.training
    net.eval()
    device = device or x.device
    out = [net(transform(b) if transform else b).float() for b in (x[i:i + batch_size].to(device)
                                                                 for i in range(0, len(x), batch_size))]
    net.train(was_training)
    return torch.cat(out)


def extract_features(backbone: nn.Module, x: torch.Tensor, mean, std, device: torch.device,
                     batch_size: int = 1024) -> torch.Tensor:
    """Outputs of a network (a backbone's representations, a classifier's logits) for images
    ``x`` (uint8, or float in [0, 1]), normalised with ``mean``/``std``, without augmentation."""
    return predict(backbone, x, device, batch_size, lambda b: normalize(b, mean, std))


def fit_linear(x: torch.Tensor, y: torch.Tensor, weight_decay: float = 1e-4, max_iter: int = 200,
               standardise: bool = True):
    """A multinomial logistic regression on ``x`` (standardised by default), fitted by full-batch
    L-BFGS with a small L2 penalty from zero weights: the problem is convex, so no random start is
    needed, and the same inputs give the same classifier whatever ran before. Returns the function
    ``x -> class probabilities``. (Chapter 5 fits it on pixels, unstandardised, as its judge.)"""
    mu, sd = (x.mean(0), x.std(0) + 1e-6) if standardise else (0.0, 1.0)
    a, y = (x - mu) / sd, y.to(x.device)
    lin = nn.Linear(a.shape[1], int(y.max()) + 1).to(a.device)
    nn.init.zeros_(lin.weight)
    nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(lin.parameters(), lr=1, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(a), y) + weight_decay * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    lin.requires_grad_(False)
    return lambda x_new: F.softmax(lin((x_new.to(a.device) - mu) / sd), 1)


def linear_probe(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor,
                 y_test: torch.Tensor, weight_decay: float = 1e-4, max_iter: int = 200) -> float:
    """Test accuracy of the linear probe: :func:`fit_linear` on standardised frozen features (on
    a GPU a few seconds even for 50,000 x 512 features; the usual SGD probe needs tuning of its own
    schedule)."""
    classify = fit_linear(f_train, y_train, weight_decay, max_iter)
    with torch.no_grad():
        return (classify(f_test).argmax(1) == y_test.to(f_train.device)).float().mean().item()


@torch.no_grad()
def knn_accuracy(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor,
                 y_test: torch.Tensor, k: int = 200, temperature: float = 0.1,
                 batch_size: int = 1024) -> float:
    """Weighted kNN on cosine similarity (Wu et al. 2018, the protocol of lightly's and solo-learn's
    CIFAR benchmarks): each of the ``k`` nearest training points votes for its label with weight
    ``exp(cos / temperature)``."""
    a = F.normalize(f_train, dim=1)
    y_train, y_test = y_train.to(a.device), y_test.to(a.device)
    k = min(k, len(a))
    n_cls = int(y_train.max()) + 1
    correct = 0
    for i in range(0, len(f_test), batch_size):
        sim = F.normalize(f_test[i:i + batch_size], dim=1) @ a.T
        top, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(sim), n_cls, device=a.device)
        votes.scatter_add_(1, y_train[idx], (top / temperature).exp())
        correct += (votes.argmax(1) == y_test[i:i + batch_size]).sum().item()
    return correct / len(f_test)


def energy_auroc(e_in: torch.Tensor, e_out: torch.Tensor) -> float:
    """Out-of-distribution detection with -E(x) as the score: AUROC of in- (1) against out- (0) inputs."""
    from sklearn.metrics import roc_auc_score

    scores = torch.cat([-e_in, -e_out]).cpu().numpy()
    return float(roc_auc_score([1] * len(e_in) + [0] * len(e_out), scores))


def cluster_scores(assigned: torch.Tensor, labels: torch.Tensor, k: int) -> dict:
    """NMI of clusters against classes, and accuracy after the best one-to-one renaming of the k
    clusters to classes (Hungarian algorithm): the two numbers clustering papers report."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score

    a, y = assigned.cpu().numpy(), labels.cpu().numpy()
    counts = torch.zeros(k, int(y.max()) + 1)
    counts.index_put_((torch.as_tensor(a), torch.as_tensor(y)), torch.ones(len(a)), accumulate=True)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return {"nmi": float(normalized_mutual_info_score(y, a)), "acc": float(counts[rows, cols].sum() / len(a))}


def cluster_use(assigned: torch.Tensor, k: int, min_share: float = 0.01) -> dict:
    """How the k clusters are used, without labels: the share of the points in the largest one (1.0:
    cluster collapse) and the number of clusters holding at least ``min_share`` of the points."""
    counts = torch.bincount(assigned, minlength=k)
    return {"largest_cluster": counts.max().item() / len(assigned),
            "clusters_used": int((counts >= min_share * len(assigned)).sum())}


def rmse(pred, target: torch.Tensor) -> float:
    """Root mean squared error over all entries (samples and components or channels); ``pred`` may be
    a NumPy array (a scikit-learn prediction)."""
    return (torch.as_tensor(pred, dtype=torch.float32) - target).pow(2).mean().sqrt().item()
