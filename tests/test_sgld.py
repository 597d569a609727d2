import math
import warnings

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from rep_utils.sgld import ReplayBuffer, sgld_sample, sgld_step

MU = torch.tensor([1.0, -2.0])
SIGMA = torch.tensor([[1.0, 0.5], [0.5, 0.8]])


def test_sgld_samples_a_2d_gaussian_energy():
    """Langevin with noise sqrt(2h) on log N(mu, Sigma) reaches its mean and covariance, from far away.

    Unadjusted Langevin on a Gaussian has the closed-form stationary covariance
    (P - h P^2 / 2)^-1 with P = Sigma^-1, which tends to Sigma as h -> 0."""
    target = MultivariateNormal(MU, SIGMA)
    h = 0.01
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((8000, 2), 6.0)
    x = sgld_sample(target.log_prob, x0, steps=1500, step_size=h, noise_std=math.sqrt(2 * h), g=g)
    P = torch.linalg.inv(SIGMA)
    stationary = torch.linalg.inv(P - h * P @ P / 2)
    assert torch.allclose(x.mean(0), MU, atol=0.04)
    assert torch.allclose(torch.cov(x.T), stationary, atol=0.05)
    assert torch.allclose(torch.cov(x.T), SIGMA, atol=0.06)


def test_sgld_step_is_a_gradient_step_plus_scaled_noise():
    """One step by hand: x + h * grad log p(x) + s * eta, with grad log N(mu, Sigma) = -P (x - mu)."""
    target = MultivariateNormal(MU, SIGMA)
    x = torch.randn(5, 2)
    h, s = 0.3, 0.2
    out = sgld_step(target.log_prob, x, h, s, g=torch.Generator().manual_seed(3))
    eta = torch.randn(5, 2, generator=torch.Generator().manual_seed(3))
    expected = x - h * (x - MU) @ torch.linalg.inv(SIGMA) + s * eta
    assert torch.allclose(out, expected, atol=1e-5)


def test_noise_free_sampling_is_gradient_ascent_to_the_mode():
    x = sgld_sample(MultivariateNormal(MU, SIGMA).log_prob, torch.zeros(3, 2), steps=400,
                    step_size=0.1, noise_std=0.0)
    assert torch.allclose(x, MU.expand(3, 2), atol=1e-3)


def test_clamping_keeps_samples_in_range_and_samples_the_truncated_density():
    """N(0, 1) clamped to [0, 3]: the half-normal, whose mean is sqrt(2 / pi)."""
    h = 0.002
    x = sgld_sample(lambda z: Normal(0.0, 1.0).log_prob(z).sum(1), torch.full((20000, 1), 2.0),
                    steps=2000, step_size=h, noise_std=math.sqrt(2 * h), clamp=(0.0, 3.0),
                    g=torch.Generator().manual_seed(1))
    assert x.min() >= 0 and x.max() <= 3
    assert abs(x.mean().item() - math.sqrt(2 / math.pi)) < 0.03


def test_replay_buffer_reinitialises_the_given_fraction_and_stores_pushed_samples():
    init = lambda n, g: torch.zeros(n, 2)  # noqa: E731 - fresh draws are recognisable zeros
    buf = ReplayBuffer(init, size=1000, reinit=0.2)
    buf.samples += 1.0  # pretend every chain has moved
    g = torch.Generator().manual_seed(0)
    x, idx = buf.draw(20000, g)
    assert abs((x == 0).all(1).float().mean().item() - 0.2) < 0.01
    assert torch.equal(x[(x != 0).all(1)], torch.ones(int((x != 0).all(1).sum()), 2))
    buf.push(torch.full((3, 2), 7.0), torch.tensor([4, 5, 6]))
    assert torch.equal(buf.samples[4:7], torch.full((3, 2), 7.0))
    assert torch.equal(buf.samples[7], torch.ones(2))


@pytest.mark.parametrize("knob", ["step_size", "noise_std"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1])
def test_a_non_finite_or_negative_step_or_noise_raises_naming_the_knob(knob, bad):
    args = {"step_size": 0.1, "noise_std": 0.1, knob: bad}
    with pytest.raises(ValueError, match=knob):
        sgld_sample(Normal(0.0, 1.0).log_prob, torch.zeros(4, 1), steps=2, **args)


def test_non_finite_samples_raise_naming_the_step_size():
    """A score whose gradient overflows: the step is infinite before the clamp could hide it."""
    with pytest.raises(FloatingPointError, match="step size"):
        sgld_sample(lambda x: (1e30 * x).exp().sum(1), torch.ones(4, 2), steps=3, step_size=1.0,
                    noise_std=0.0, clamp=(-3.0, 3.0))


def test_chains_pinned_to_the_box_warn_only_when_asked():
    push_out = lambda x: 100 * x.sum(1)  # noqa: E731 - drives every chain to the upper bound
    with pytest.warns(RuntimeWarning, match="100% of the Langevin chains"):
        sgld_sample(push_out, torch.zeros(8, 2), steps=2, step_size=1.0, noise_std=0.0,
                    clamp=(-3.0, 3.0), warn_pinned=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default (pixels at the bounds are fine): silent
        sgld_sample(push_out, torch.zeros(8, 2), steps=2, step_size=1.0, noise_std=0.0, clamp=(-3.0, 3.0))
        # a Gaussian well inside the box: few chains touch it
        sgld_sample(Normal(0.0, 0.5).log_prob, torch.zeros(500, 2), steps=50, step_size=0.01,
                    noise_std=math.sqrt(0.02), clamp=(-3.0, 3.0), warn_pinned=0.5,
                    g=torch.Generator().manual_seed(0))
