"""A synthetic stand-in for the spectroscopy data of the inverted-VAE chapter (chapter 5).

The paper's Mars spectra (ChemCam LIBS, CRISM) are not available offline, so the chapter mixes
its own: K pure-component ("endmember") spectra, each a sum of a few Gaussian peaks over D
channels, and compositions y on the probability simplex. A spectrum is the linear mixture
x = y @ S (the linear-mixing model of hyperspectral unmixing), optionally bent by a saturating
response (1 - exp(-s x)) / s, which tends to the linear mixture as s -> 0, plus Gaussian noise.
"""
from __future__ import annotations

import torch


def endmembers(k: int, d: int, peaks: int = 4, g: torch.Generator | None = None) -> torch.Tensor:
    """K spectra of D channels on a grid over [0, 1]: each a sum of ``peaks`` Gaussian peaks with
    random centres, widths (0.02-0.08) and heights (0.3-1)."""
    grid = torch.linspace(0, 1, d)
    centre, width = torch.rand(k, peaks, 1, generator=g), 0.02 + 0.06 * torch.rand(k, peaks, 1, generator=g)
    height = 0.3 + 0.7 * torch.rand(k, peaks, 1, generator=g)
    return (height * torch.exp(-0.5 * ((grid - centre) / width) ** 2)).sum(1)


def dirichlet(n: int, k: int, concentration: float, g: torch.Generator | None = None) -> torch.Tensor:
    """n compositions from a symmetric Dirichlet: normalised Gamma draws (1 is uniform on the simplex)."""
    gamma = torch._standard_gamma(torch.full((n, k), float(concentration)), generator=g)
    return gamma / gamma.sum(1, keepdim=True)


def mix(y: torch.Tensor, s: torch.Tensor, noise: float = 0.0, saturation: float = 0.0,
        g: torch.Generator | None = None) -> torch.Tensor:
    """Spectra of the compositions ``y`` [n, K] from the endmembers ``s`` [K, D]."""
    x = y @ s
    if saturation > 0:
        x = -torch.expm1(-saturation * x) / saturation
    return x + noise * torch.randn(x.shape, generator=g)
