"""Figures shared by the chapters (defined in the Setup chapter)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision

from .report import mean_std


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


def show_rows(rows: dict[str, torch.Tensor], nrow: int, height: float = 1.5):
    """Image grids stacked in one figure of the book's width, a titled grid of ``nrow`` images
    per row for each ``{title: images}``."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(6, height * len(rows)), squeeze=False)
    for ax, (title, x) in zip(axes[:, 0], rows.items()):
        show_images(x, nrow=nrow, ax=ax, title=title)
    fig.tight_layout()
    return fig


def plot_runs(runs: dict[str, list[list[dict]]], panels: dict[str, str], x: str = "epoch", per_row: int = 3,
              colours: dict[str, str] | None = None, title: str | None = None, against: tuple[str, str] | None = None):
    """Histories of several methods, one panel per metric (``panels``: key -> title), every run of a
    method in its colour and its first run in the legend; rows without the key (epoch 0 has no loss)
    are skipped. At most ``per_row`` panels a row, so that the figure fits the book's column (a single
    panel is narrower, so that a phone does not shrink its text).
    ``against=(key, label)`` draws each run's path through (metric, ``key``) instead of the metric
    over ``x``: how well the metric tracks ``key`` during training; the path's first point is open."""
    rows, cols = -(-len(panels) // per_row), min(per_row, len(panels))
    colours = colours or {m: f"C{i}" for i, m in enumerate(runs)}
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 if cols > 1 else 5.0, 2.4 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    for ax, (key, head) in zip(axes.flat, panels.items()):
        for m, histories in runs.items():
            for i, h in enumerate(histories):
                pts = [r for r in h if key in r]
                xs, ys = ([r[key] for r in pts], [r[against[0]] for r in pts]) if against else \
                    ([r[x] for r in pts], [r[key] for r in pts])
                ax.plot(xs, ys, "o-", ms=2, lw=1, alpha=0.8, color=colours[m], label=m if i == 0 else None)
                if against:
                    ax.plot(xs[0], ys[0], "o", mfc="white", mec=colours[m], ms=5)
        if against:
            ax.set_xlabel(head, fontsize=9)
        else:
            ax.set_title(head, fontsize=9)
            ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    if against:
        for ax in axes[:, 0]:
            ax.set_ylabel(against[1])
    axes.flat[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()  # after the title, which it makes room for
    return fig


def plot_sweep(values: dict[str, dict[float, list[float]]], xlabel: str, ylabel: str = "", title: str = "",
               ax=None, xscale: str = "log", **xscale_kw):
    """A sweep over a size (labels, extra data): for each arm ``{x: values over runs}`` one dot per
    run and the mean +- sample std (:func:`~rep_utils.report.mean_std`) joined across x. Arms are
    shifted by 3% in x so that their dots do not hide each other."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.4))
    for i, (arm, by_x) in enumerate(values.items()):
        xs = sorted(by_x)
        dx = 1 + 0.03 * (i - (len(values) - 1) / 2)
        m, sd = np.array([mean_std(by_x[x]) for x in xs]).T
        ax.errorbar(np.array(xs) * dx, m, sd, marker="o", ms=4, capsize=3, color=f"C{i}", label=f"{arm} (mean ± std)")
        for x in xs:
            ax.scatter(np.full(len(by_x[x]), x * dx), by_x[x], s=10, color=f"C{i}", alpha=0.4)
    ax.set_xscale(xscale, **xscale_kw)
    ticks = sorted({x for by_x in values.values() for x in by_x})  # every arm's sizes, not the last arm's
    ax.set_xticks(ticks, [f"{x:,}" for x in ticks])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    if len(values) > 1:
        ax.legend(fontsize=8)
    return ax
