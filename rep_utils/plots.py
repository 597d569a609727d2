"""Figures shared by the chapters (defined in the Setup chapter)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
import torchvision


def show_images(x: torch.Tensor, nrow: int = 16, title: str | None = None, ax=None):
    """A grid of images (uint8, or float in [0, 1]) shaped [N, C, H, W]."""
    x = x.detach().cpu()
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float().clamp(0, 1)
    grid = torchvision.utils.make_grid(x, nrow=nrow, padding=1, pad_value=1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.45, (len(x) + nrow - 1) // nrow * 0.45 + 0.4))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(history: list[dict], keys: list[str], title: str | None = None, per_row: int = 3):
    """One panel per metric against the epoch, at most ``per_row`` panels a row, so that the figure
    fits the book's column (7 inches) with legible text."""
    rows = -(-len(keys) // per_row)
    cols = min(per_row, len(keys))
    fig, axes = plt.subplots(rows, cols, figsize=(7, 2.4 * rows), squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_axis_off()
    epochs = [h["epoch"] for h in history]
    for ax, k in zip(axes.flat, keys):
        ax.plot(epochs, [h[k] for h in history], marker="o", ms=3)
        ax.set_xlabel("epoch")
        ax.set_title(k)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
