"""Inverted VAE, the core: the digit model's densities against their closed forms in NumPy/SciPy,
each bound recomputed in NumPy on a tiny model with the same random draws, the M2 baseline and a
short run."""
import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import expit, gammaln, log_expit, logit, logsumexp
from scipy.stats import norm

from rep_utils.ivae import M2, IVAEConfig, elbo_labelled, elbo_unfeatured, elbo_unlabelled, ivae_loss, train_ivae

CFG = IVAEConfig(classes=3, labelled_classes=2, z_dim=2, hidden_y=(5,), hidden_z=(4,), hidden_x=(6,))
LO, HI = CFG.z_lo, CFG.z_hi


def _tiny(seed=0, cfg=CFG):
    torch.manual_seed(seed)
    return M2(4, cfg)


def _np(t):
    return t.detach().double().numpy()


def _replay(seed):
    """A generator in the state the bound's own generator started from: replays its draws."""
    return torch.Generator().manual_seed(seed)


def log_concrete(y, logits, tau):
    """Concrete density (Jang et al. 2017, eq. 3): log Gamma(k) tau^(k-1) (sum_i pi_i y_i^-tau)^-k prod_i pi_i y_i^-(tau+1)."""
    k, log_pi = y.shape[-1], logits - logsumexp(logits, -1, keepdims=True)
    return (gammaln(k) + (k - 1) * np.log(tau) - k * logsumexp(log_pi - tau * np.log(y), -1)
            + (log_pi - (tau + 1) * np.log(y)).sum(-1))


def log_box(z, mu, logvar):
    """z = lo + (hi - lo) sigmoid(eps), eps ~ N(mu, exp(logvar)): Gaussian density of eps over |dz/deps|."""
    u = (z - LO) / (HI - LO)
    log_jac = np.log(HI - LO) + np.log(u) + np.log1p(-u)
    return (norm.logpdf(logit(u), mu, np.exp(0.5 * logvar)) - log_jac).sum(-1)


def log_bernoulli(x, logits):
    return (x * log_expit(logits) + (1 - x) * log_expit(-logits)).sum(-1)


def _z_draw(model, x, y, g):
    """The reparameterised z of the code, from the same noise, in NumPy: (z, mu, logvar)."""
    mu, logvar = map(_np, model.q_z_given_xy(x, y))
    eps = mu + np.exp(0.5 * logvar) * _np(torch.randn(mu.shape, generator=g))
    return LO + (HI - LO) * expit(eps), mu, logvar


def test_concrete_density_against_the_closed_form():
    x, y = torch.rand(8, 4).round(), F.softmax(2 * torch.randn(8, 3), 1)
    for tau in (0.5, 1.0, 2.0):
        model = _tiny(cfg=replace(CFG, tau=tau))
        want = log_concrete(_np(y), _np(model.q_y_given_x(x)), tau)
        np.testing.assert_allclose(_np(model.log_q_y(x, y)), want, rtol=1e-5, atol=1e-4)


def test_box_density_against_the_closed_form():
    model, x = _tiny(), torch.rand(6, 4).round()
    y, z = F.one_hot(torch.arange(6) % 3, 3).float(), LO + (HI - LO) * torch.rand(6, 2)
    want = log_box(_np(z), *map(_np, model.q_z_given_xy(x, y)))
    np.testing.assert_allclose(_np(model.log_q_z(x, y, z)), want, rtol=1e-5, atol=1e-4)


def test_sample_z_stays_in_box_and_reports_its_density():
    model, x, y = _tiny(), torch.rand(50, 4).round(), F.one_hot(torch.arange(50) % 3, 3).float()
    z, log_pq = model.sample_z(x, y, _replay(1))
    assert ((z > LO) & (z < HI)).all()
    z_np, mu, logvar = _z_draw(model, x, y, _replay(1))
    np.testing.assert_allclose(_np(z), z_np, atol=1e-6)
    np.testing.assert_allclose(_np(log_pq), 2 * math.log(1 / 3) - log_box(z_np, mu, logvar), rtol=1e-5, atol=1e-4)


def test_sample_z_scores_a_saturated_draw_at_its_own_eps():
    # eps ~ 20: sigmoid(eps) rounds to 1 in float32, so inverting z could not give eps back
    model, x, y = _tiny(), torch.zeros(3, 4), torch.eye(3)
    mu, logvar = torch.full((3, 2), 20.0), torch.full((3, 2), -2.0)
    model.q_z_given_xy = lambda x, y: (mu, logvar)
    _, log_pq = model.sample_z(x, y, _replay(2))
    eps = _np(mu) + np.exp(0.5 * _np(logvar)) * _np(torch.randn(3, 2, generator=_replay(2)))
    log_q = (norm.logpdf(eps, _np(mu), np.exp(0.5 * _np(logvar))) - np.log(HI - LO) - np.log(expit(eps))
             - np.log(expit(-eps))).sum(1)
    np.testing.assert_allclose(_np(log_pq), 2 * math.log(1 / 3) - log_q, rtol=1e-4)


def test_elbo_labelled_by_hand():
    model, x, y = _tiny(), torch.rand(5, 4).round(), F.one_hot(torch.tensor([0, 1, 2, 0, 1]), 3).float()
    got = elbo_labelled(model, x, y, _replay(3))
    z, mu, logvar = _z_draw(model, x, y, _replay(3))
    log_px = log_bernoulli(_np(x), _np(model.p_x_given_yz(y, torch.tensor(z, dtype=torch.float32))))
    want = log_px + math.log(1 / 3) + 2 * math.log(1 / 3) - log_box(z, mu, logvar)  # p(z) = 1/3 per dim
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-4)


def test_elbo_unlabelled_by_hand():
    model, x = _tiny(), torch.rand(5, 4).round()
    got = elbo_unlabelled(model, x, _replay(4))
    g, logits = _replay(4), _np(model.q_y_given_x(x))
    u = _np(torch.rand(logits.shape, generator=g))
    y = np.exp(logits - np.log(-np.log(u)) - logsumexp(logits - np.log(-np.log(u)), 1, keepdims=True))  # tau = 1
    y_t = torch.tensor(y, dtype=torch.float32)
    z, mu, logvar = _z_draw(model, x, y_t, g)
    want = (log_bernoulli(_np(x), _np(model.p_x_given_yz(y_t, torch.tensor(z, dtype=torch.float32))))
            + log_concrete(y, np.zeros(3), 1.0) - log_concrete(y, logits, 1.0) + 2 * math.log(1 / 3)
            - log_box(z, mu, logvar))
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-3)


def test_elbo_unfeatured_by_hand():
    model = _tiny()
    y = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9]])
    z = torch.tensor([[0.3, -1.2], [1.0, 0.0]])
    got = elbo_unfeatured(model, y, z, _replay(5))
    p_logits = model.p_x_given_yz(y, z)
    x = torch.bernoulli(torch.sigmoid(p_logits).detach(), generator=_replay(5))
    want = (log_concrete(_np(y), _np(model.q_y_given_x(x)), 1.0) + log_box(_np(z), *map(_np, model.q_z_given_xy(x, y)))
            + 4 * math.log(0.5) - log_bernoulli(_np(x), _np(p_logits)))
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-4)


def test_m2_has_no_reverse_term_and_inverted_model_trains_the_encoder_on_it():
    model, x = _tiny(), torch.rand(6, 4).round()
    y = F.one_hot(torch.tensor([0, 1, 0, 1, 0, 1]), 3).float()
    y_u, z_u = torch.full((6, 3), 0.05).scatter(1, torch.arange(6)[:, None] % 3, 0.9), torch.zeros(6, 2)
    m2 = M2(4, replace(CFG, alpha_r=0.0, alpha_rd=0.0))
    m2.load_state_dict(model.state_dict())
    _, metrics = ivae_loss(m2, x, y, x, y_u, z_u)
    assert "elbo_unfeatured" not in metrics
    loss, metrics = ivae_loss(model, x, y, x, y_u, z_u)
    assert torch.isfinite(loss) and "elbo_unfeatured" in metrics
    loss.backward()
    assert model.y_net[0].weight.grad.abs().sum() > 0


def test_a_short_run(tmp_path):
    g = torch.Generator().manual_seed(0)
    y_u = torch.full((6, 3), 0.05).scatter(1, torch.arange(6)[:, None] % 3, 0.9)
    split = {"x_l": torch.rand(12, 4, generator=g).round(), "y_l": F.one_hot(torch.arange(12) % 2, 3).float(),
             "x_u": torch.rand(60, 4, generator=g).round(), "y_u": y_u, "z_u": LO + (HI - LO) * torch.rand(6, 2, generator=g)}
    model, hist = train_ivae(split, replace(CFG, batch_size=20, epochs=2), torch.device("cpu"), checkpoint=tmp_path / "c.pt")
    assert type(model) is M2 and len(hist) == 2 and all(math.isfinite(v) for h in hist for v in h.values())
