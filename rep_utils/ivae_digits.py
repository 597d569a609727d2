"""The digit task of the inverted-VAE chapter (paper §3): the split that labels only digits 0..4,
and the paper's metric, which first matches the unlabelled dimensions of y to digits by
classifying the decoder's class images."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .evaluate import fit_linear
from .ivae import M2, IVAEConfig


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


@torch.no_grad()
def judge(data, n: int | None = None):
    """The judge of the class images: a multinomial logistic regression (``fit_linear``) on the
    first ``n`` real binarised training digits (None: all), unstandardised, since it reads the
    decoder's mean images (pixel probabilities). Returns ``images -> digit probabilities``."""
    return fit_linear((data.x_train.flatten(1) > 127).float()[:n], data.y_train[:n], standardise=False)


def class_images(model: M2, x_l, y_l, z=None):
    """Mean image of p(x|y,z) for each one-hot y (paper Fig. 2). By default z is the mean of
    q(z|x,y) over the labelled pairs (paper §3); a [n, z_dim] z gives one row of n images per class."""
    k = model.cfg.classes
    if z is None:
        z = model.z_point(x_l, y_l).mean(0, keepdim=True)
    y = torch.eye(k, device=z.device).repeat_interleave(len(z), 0)
    return model.x_mean(y, z.repeat(k, 1))


@torch.no_grad()
def class_image_grid(model: M2, split: dict, z: torch.Tensor) -> torch.Tensor:
    """Paper Fig. 2 as one grid: a row per dimension of y, its class image and then its images at
    each latent of ``z`` [n, z_dim]; square images for ``show_images(..., nrow=n + 1)``."""
    dev = next(model.parameters()).device
    x_l, y_l, k = split["x_l"].to(dev), split["y_l"].to(dev), model.cfg.classes
    rows = torch.cat([class_images(model, x_l, y_l)[:, None], class_images(model, x_l, y_l, z.to(dev)).view(k, len(z), -1)], 1)
    side = math.isqrt(rows.shape[-1])
    return rows.reshape(-1, 1, side, side)


@torch.no_grad()
def digit_dimensions(model: M2, split: dict) -> str:
    """Where q(y|x) sends the test images of each new digit: the dimension it picks most often for
    them, and the share of them it gets."""
    pred = model.q_y_given_x(split["x_test"].to(next(model.parameters()).device)).argmax(1).cpu()
    t, k = split["t_test"], model.cfg.classes
    counts = [torch.bincount(pred[t == d], minlength=k) for d in range(model.cfg.labelled_classes, k)]
    return ", ".join(f"{d}->dim {int(c.argmax())} ({c.max() / c.sum():.0%})"
                     for d, c in enumerate(counts, model.cfg.labelled_classes))


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
