"""The inverted VAE on compositions: the simplex model's densities and bounds recomputed in
NumPy/SciPy with the same random draws, and the synthetic spectra task with its baselines."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import dirichlet, norm

from rep_utils.ivae import elbo_labelled, elbo_unfeatured, elbo_unlabelled, train_ivae
from rep_utils.ivae_spectra import SimplexM2, SpectraConfig, spectra_metrics, spectra_predictions, untapped_spectra

SCFG = SpectraConfig(classes=3, z_dim=2, hidden_y=(5,), hidden_z=(4,), hidden_x=(6,))


def _simplex(seed=0):
    torch.manual_seed(seed)
    model = SimplexM2(4, SCFG)
    with torch.no_grad():
        model.x_logvar.copy_(torch.randn(4))
    return model


def _np(t):
    return t.detach().double().numpy()


def _replay(seed):
    """A generator in the state the bound's own generator started from: replays its draws."""
    return torch.Generator().manual_seed(seed)


def log_normal(x, mu, logvar):
    return norm.logpdf(x, mu, np.exp(0.5 * logvar)).sum(-1)


def kl_from_standard_normal(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) (Kingma & Welling 2014, App. B)."""
    return 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(-1)


def log_logistic_normal(y, mu, logvar):
    """eta = log(y_k / y_K) is Gaussian; the Jacobian of the additive-logistic flow is prod_k y_k."""
    return log_normal(np.log(y[:, :-1] / y[:, -1:]), mu, logvar) - np.log(y).sum(-1)


def _log_p_x(model, x, y, z):
    """log N(x; decoder mean, exp(x_logvar)) for NumPy x and z."""
    mean = model.x_net(torch.cat([y, torch.tensor(z, dtype=torch.float32)], 1))
    return log_normal(x, _np(mean), _np(model.x_logvar))


def _z_draw(model, x, y, g):
    mu, logvar = map(_np, model.q_z_given_xy(x, y))
    return mu + np.exp(0.5 * logvar) * _np(torch.randn(mu.shape, generator=g)), mu, logvar


def test_simplex_prior_is_the_uniform_dirichlet():
    y = torch.distributions.Dirichlet(torch.ones(3)).sample((4,))
    want = [dirichlet.logpdf(v / v.sum(), np.ones(3)) for v in _np(y)]
    np.testing.assert_allclose(_np(_simplex().log_p_y(y)), want, rtol=1e-6)


def test_simplex_z_draw_and_kl_against_the_closed_form():
    model, x, y = _simplex(), torch.randn(6, 4), torch.distributions.Dirichlet(torch.ones(3)).sample((6,))
    z, log_pq = model.sample_z(x, y, _replay(1))
    z_np, mu, logvar = _z_draw(model, x, y, _replay(1))
    np.testing.assert_allclose(_np(z), z_np, atol=1e-6)
    np.testing.assert_allclose(_np(log_pq), -kl_from_standard_normal(mu, logvar), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(model.log_q_z(x, y, z)), log_normal(_np(z), mu, logvar), rtol=1e-5, atol=1e-4)


def test_simplex_elbo_labelled_by_hand():
    model, x, y = _simplex(), torch.randn(5, 4), torch.distributions.Dirichlet(torch.ones(3)).sample((5,))
    got = elbo_labelled(model, x, y, _replay(3))
    z, mu, logvar = _z_draw(model, x, y, _replay(3))
    want = _log_p_x(model, _np(x), y, z) + math.log(2) - kl_from_standard_normal(mu, logvar)  # uniform on the 3-simplex: 2!
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-4)


def test_simplex_elbo_unlabelled_by_hand():
    model, x = _simplex(), torch.randn(5, 4)
    got = elbo_unlabelled(model, x, _replay(4))
    g = _replay(4)
    mu_y, logvar_y = map(_np, model.y_net(x).chunk(2, 1))
    eta = mu_y + np.exp(0.5 * logvar_y) * _np(torch.randn(5, 2, generator=g))
    y = np.exp(np.pad(eta, ((0, 0), (0, 1)))) / (1 + np.exp(eta).sum(1, keepdims=True))  # (exp(eta), 1) / (1 + sum exp(eta))
    y_t = torch.tensor(y, dtype=torch.float32)
    z, mu, logvar = _z_draw(model, x, y_t, g)
    want = (_log_p_x(model, _np(x), y_t, z) + math.log(2) - log_logistic_normal(y, mu_y, logvar_y)
            - kl_from_standard_normal(mu, logvar))
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-4)


def test_simplex_elbo_unfeatured_by_hand():
    model = _simplex()
    y, z = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6]]), torch.tensor([[0.3, -1.2], [1.0, 0.0]])
    got = elbo_unfeatured(model, y, z, _replay(5))
    mean, sd = model.x_net(torch.cat([y, z], 1)), (0.5 * model.x_logvar).exp()
    x = mean + sd * torch.randn(2, 4, generator=_replay(5))
    mu_z, logvar_z = map(_np, model.q_z_given_xy(x, y))
    want = (log_logistic_normal(_np(y), *map(_np, model.y_net(x).chunk(2, 1))) + log_normal(_np(z), mu_z, logvar_z)
            + 0.0 - _log_p_x(model, _np(x), y, _np(z)))  # q(x) flat
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-4)
    got.sum().backward()  # the reparameterised spectrum carries gradient to the decoder
    assert model.x_net[0].weight.grad.abs().sum() > 0


def test_spectra_split_and_pls_recovers_noise_free_linear_mixtures():
    cfg = replace(SCFG, noise=0.0, saturation=0.0, n_labelled=20, n_unlabelled=100, n_unfeatured=50,
                  n_test=200, channels=16, batch_size=20, epochs=2)
    split = untapped_spectra(cfg, seed=0)
    assert split["x_l"].shape == (20, 16) and split["x_u"].shape == (100, 16)
    assert split["y_u"].shape == (50, 3) and split["z_u"].shape == (50, 2)
    assert torch.allclose(split["x_test"], split["y_test"] @ split["endmembers"], atol=1e-5)

    def centre(y):  # pairs are drawn near the centre of the simplex
        return (y - 1 / 3).norm(dim=1).mean()

    assert centre(split["y_l"]) < 0.5 * centre(split["y_test"])
    model, hist = train_ivae(split, cfg, torch.device("cpu"))  # the config picks the model
    assert isinstance(model, SimplexM2) and all(math.isfinite(v) for h in hist for v in h.values())
    r = spectra_metrics(model, split, pls_components=3)
    assert r["rmse_pls"] < 1e-3  # x = y S is exactly linear: PLS inverts it from 20 pairs
    want = (split["y_l"].mean(0) - split["y_test"]).pow(2).mean().sqrt()
    assert abs(r["rmse_mean"] - want.item()) < 1e-6 and 0 < r["rmse"] < 1
    p = spectra_predictions(model, split, pls_components=3)
    with torch.no_grad():
        assert torch.allclose(p["y"], model.predict_y(split["x_test"]).exp())
        assert torch.allclose(p["pure"], model.x_mean(torch.eye(3), torch.zeros(3, 2)))
    assert r["rmse"] == pytest.approx((p["y"] - split["y_test"]).pow(2).mean().sqrt().item())
    assert torch.allclose(p["y_pls"], split["y_test"], atol=1e-3)
