"""The inverted VAE's densities against closed forms in SciPy (or autograd's Jacobian), and its draws
by hand: replayed from the generator, the Gumbel-Softmax at its temperature limits."""
import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import norm

from rep_utils.densities import additive_logistic, gumbel_softmax_sample, log_logistic_normal, normal, rsample


def _np(t):
    return t.detach().double().numpy()


def test_normal_density_against_scipy():
    mu, logvar, x = torch.randn(6, 3), torch.randn(6, 3), torch.randn(6, 3)
    want = norm.logpdf(_np(x), _np(mu), np.exp(0.5 * _np(logvar))).sum(1)
    np.testing.assert_allclose(_np(normal(mu, logvar).log_prob(x)), want, rtol=1e-5, atol=1e-5)


def test_rsample_is_replayed_from_the_generator_and_reparameterised():
    mu, logvar = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)
    draw = rsample(normal(mu, logvar), torch.Generator().manual_seed(2))
    noise = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(draw, mu + (0.5 * logvar).exp() * noise)
    draw.sum().backward()
    assert torch.equal(mu.grad, torch.ones(4, 3))


def test_gumbel_softmax_sample_lies_on_the_simplex():
    y = gumbel_softmax_sample(torch.randn(1000, 7) * 3, 0.7, torch.Generator().manual_seed(0)).exp()
    assert (y >= 0).all() and torch.allclose(y.sum(1), torch.ones(1000), atol=1e-5)


def test_gumbel_softmax_temperature_limits():
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5]]).expand(20_000, 4)
    cold = gumbel_softmax_sample(logits, 1e-3, torch.Generator().manual_seed(0)).exp()
    # tau -> 0: one-hot samples whose class frequencies are softmax(logits) (the Gumbel-max trick)
    assert (cold.max(1).values > 0.999).float().mean() > 0.99
    freq = F.one_hot(cold.argmax(1), 4).float().mean(0)
    assert torch.allclose(freq, F.softmax(logits[0], 0), atol=0.015)
    # tau -> infinity: the uniform point of the simplex
    hot = gumbel_softmax_sample(logits[:10], 1e4, torch.Generator().manual_seed(0)).exp()
    assert torch.allclose(hot, torch.full_like(hot, 0.25), atol=1e-3)


def test_logistic_normal_density_by_autograd_jacobian():
    mu, logvar, eta = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    y = additive_logistic(eta)
    assert torch.allclose(y.sum(1), torch.ones(5)) and (y > 0).all()

    def to_y(e):  # the first K-1 coordinates: (exp(e), 1) / (1 + sum exp(e))
        return e.exp() / (1 + e.exp().sum(-1, keepdim=True))

    assert torch.allclose(y[:, :-1], to_y(eta))
    logdet = np.array([torch.linalg.slogdet(torch.autograd.functional.jacobian(to_y, e.double()))[1].item() for e in eta])
    want = norm.logpdf(_np(eta), _np(mu), np.exp(0.5 * _np(logvar))).sum(1) - logdet
    np.testing.assert_allclose(_np(log_logistic_normal(y, mu, logvar)), want, rtol=1e-4, atol=1e-4)
