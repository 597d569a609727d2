"""Batched image augmentations that run on the device (defined in the BYOL chapter, used by every
self-supervised chapter).

Each op takes a float batch ``x`` in [0, 1] of shape [B, C, H, W] and draws one random parameter
per image from ``generator`` (on ``x``'s device), so the same seed gives the same views on the
same device. They follow torchvision's definitions (``RandomResizedCrop``, ``ColorJitter``,
``RandomGrayscale``, ``GaussianBlur``, ``RandomSolarize``) but process the whole batch in a few
kernels, so Colab's two CPU cores never starve the GPU. One difference: torchvision applies the
four jitter ops in a random order per image; here the order is fixed (brightness, contrast,
saturation, hue), as in SimCLR's reference TensorFlow code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _uniform(n, lo, hi, x, g):
    return lo + (hi - lo) * torch.rand(n, device=x.device, generator=g)


def _apply_p(x, fx, p, g):
    """Per image: ``fx`` with probability ``p``, else ``x``."""
    keep = torch.rand(x.shape[0], device=x.device, generator=g) < p
    return torch.where(keep[:, None, None, None], fx, x)


def random_resized_crop(x, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), g=None):
    """Crop a random area fraction in ``scale`` with aspect ratio in ``ratio``; resize to ``size``
    (bilinear). Boxes that do not fit are clipped to the image, a simplification of torchvision's
    ten retries."""
    b, _, h, w = x.shape
    area = _uniform(b, *scale, x, g)
    logr = _uniform(b, math.log(ratio[0]), math.log(ratio[1]), x, g)
    r = torch.exp(logr)
    cw = torch.sqrt(area * r).clamp(max=1.0)  # crop width / image width
    ch = torch.sqrt(area / r).clamp(max=1.0)
    cx = _uniform(b, 0, 1, x, g) * (1 - cw) * 2 - (1 - cw)  # centre in [-1, 1] coordinates
    cy = _uniform(b, 0, 1, x, g) * (1 - ch) * 2 - (1 - ch)
    theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = cw, cx, ch, cy
    grid = F.affine_grid(theta, (b, x.shape[1], size, size), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def hflip(x, p=0.5, g=None):
    return _apply_p(x, x.flip(-1), p, g)


def grayscale(x):
    """ITU-R 601-2 luma with torchvision's coefficients, repeated over the channels."""
    if x.shape[1] == 1:
        return x
    y = (0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    return y.expand_as(x)


def _blend(a, b, factor):
    return (factor[:, None, None, None] * a + (1 - factor[:, None, None, None]) * b).clamp(0, 1)


def rgb_to_hsv(x):
    r, gr, bl = x.unbind(1)
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp(min=1e-12), torch.zeros_like(maxc))
    d = delta.clamp(min=1e-12)
    h = torch.where(maxc == r, ((gr - bl) / d) % 6,
                    torch.where(maxc == gr, (bl - r) / d + 2, (r - gr) / d + 4))
    h = torch.where(delta > 0, h / 6, torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def hsv_to_rgb(x):
    h, s, v = x.unbind(1)
    k = lambda n: (n + h * 6) % 6  # noqa: E731  (the standard closed form of HSV -> RGB)
    f = lambda n: v - v * s * (torch.minimum(k(n), 4 - k(n)).clamp(0, 1))  # noqa: E731
    return torch.stack([f(5), f(3), f(1)], 1)


def adjust_brightness(x, f):
    return _blend(x, torch.zeros_like(x), f)


def adjust_contrast(x, f):
    mean = grayscale(x).mean((1, 2, 3), keepdim=True)
    return _blend(x, mean.expand_as(x), f)


def adjust_saturation(x, f):
    return _blend(x, grayscale(x), f)


def adjust_hue(x, shift):
    """Rotate the hue by ``shift`` (a fraction of a full turn) per image."""
    h, s, v = rgb_to_hsv(x).unbind(1)
    return hsv_to_rgb(torch.stack([(h + shift[:, None, None]) % 1.0, s, v], 1))


def color_jitter(x, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, g=None):
    """torchvision's ``ColorJitter`` factors: brightness/contrast/saturation in [1-s, 1+s], hue
    shift in [-hue, hue] of a full turn."""
    b = x.shape[0]
    x = adjust_brightness(x, _uniform(b, 1 - brightness, 1 + brightness, x, g))
    x = adjust_contrast(x, _uniform(b, 1 - contrast, 1 + contrast, x, g))
    if x.shape[1] == 3:
        x = adjust_saturation(x, _uniform(b, 1 - saturation, 1 + saturation, x, g))
        x = adjust_hue(x, _uniform(b, -hue, hue, x, g))
    return x


def gaussian_blur(x, sigma=(0.1, 2.0), kernel_frac=0.1, g=None):
    """Blur each image with its own sigma; kernel size ~10% of the image side (BYOL App. B)."""
    b, c, h, w = x.shape
    k = max(3, int(kernel_frac * h) // 2 * 2 + 1)
    s = _uniform(b, *sigma, x, g)
    t = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    kern = torch.exp(-t[None] ** 2 / (2 * s[:, None] ** 2))
    kern = (kern / kern.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [B*C, k]
    y = x.reshape(1, b * c, h, w)
    y = F.conv2d(F.pad(y, (k // 2, k // 2, 0, 0), mode="reflect"), kern[:, None, None, :], groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, k // 2, k // 2), mode="reflect"), kern[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


def solarize(x, threshold=0.5):
    return torch.where(x >= threshold, 1 - x, x)


@dataclass
class Augment:
    """One view's augmentation pipeline (BYOL Table 6 / SimCLR order). Probabilities are per image."""

    size: int = 32
    crop_scale: tuple[float, float] = (0.08, 1.0)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)
    jitter_p: float = 0.8
    gray_p: float = 0.2
    blur_p: float = 0.0
    solarize_p: float = 0.0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
        """``x``: uint8 or float [0, 1] batch on any device; returns float [0, 1]."""
        x = x.float() / 255 if x.dtype == torch.uint8 else x
        x = random_resized_crop(x, self.size, self.crop_scale, g=g)
        x = hflip(x, self.flip_p, g)
        if self.jitter_p > 0:
            x = _apply_p(x, color_jitter(x, *self.jitter, g=g), self.jitter_p, g)
        if self.gray_p > 0:
            x = _apply_p(x, grayscale(x), self.gray_p, g)
        if self.blur_p > 0:
            x = _apply_p(x, gaussian_blur(x, g=g), self.blur_p, g)
        if self.solarize_p > 0:
            x = _apply_p(x, solarize(x), self.solarize_p, g)
        return x

