"""The synthetic mixing spectra of chapter 5: Dirichlet compositions and linear (or saturating) mixing."""
import torch
from torch.distributions import Dirichlet

from rep_utils import spectra


def test_dirichlet_compositions_on_the_simplex_with_the_right_spread():
    g = torch.Generator().manual_seed(0)
    for conc in (1.0, 20.0):
        y = spectra.dirichlet(20_000, 3, conc, g)
        assert (y >= 0).all() and torch.allclose(y.sum(1), torch.ones(len(y)))
        ref = Dirichlet(torch.full((3,), conc))
        assert torch.allclose(y.mean(0), ref.mean, atol=0.01)
        assert torch.allclose(y.var(0), ref.variance, rtol=0.05)


def test_mixing_is_linear_without_noise_and_saturation():
    g = torch.Generator().manual_seed(1)
    s = spectra.endmembers(3, 32, g=g)
    assert s.shape == (3, 32) and (s > 0).all()
    assert torch.allclose(spectra.mix(torch.eye(3), s), s)  # pure compositions give the endmembers
    y1, y2 = spectra.dirichlet(2, 3, 1.0, g)
    a = 0.3
    assert torch.allclose(spectra.mix((a * y1 + (1 - a) * y2)[None], s),
                          a * spectra.mix(y1[None], s) + (1 - a) * spectra.mix(y2[None], s), atol=1e-6)
    # the saturating response is below the linear one and tends to it as saturation -> 0
    y = spectra.dirichlet(10, 3, 1.0, g)
    assert (spectra.mix(y, s, saturation=2.0) <= spectra.mix(y, s) + 1e-7).all()
    assert torch.allclose(spectra.mix(y, s, saturation=1e-5), spectra.mix(y, s), atol=1e-4)
    noisy = spectra.mix(y.repeat(500, 1), s, noise=0.1, g=g) - spectra.mix(y.repeat(500, 1), s)
    assert abs(noisy.std().item() - 0.1) < 0.005
