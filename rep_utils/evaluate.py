"""Frozen-feature evaluation (defined in the Setup chapter): features of a backbone, the linear
probe and the weighted kNN classifier that self-supervised papers report."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .augment import normalize


@torch.no_grad()
def extract_features(backbone: nn.Module, x: torch.Tensor, mean, std, device: torch.device,
                     batch_size: int = 1024) -> torch.Tensor:
    """Outputs of a network (a backbone's representations, a classifier's logits) for images
    ``x`` (uint8, or float in [0, 1]), normalised, no augmentation, in eval mode, in batches."""
    was_training = backbone.training
    backbone.eval()
    out = [backbone(normalize(x[i:i + batch_size].to(device), mean, std)).float()
           for i in range(0, len(x), batch_size)]
    backbone.train(was_training)
    return torch.cat(out)


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
