"""Inverted VAE: densities against torch.distributions, the Gumbel-Softmax sampler, each bound
recomputed independently on a tiny model with the same random draws (digits and compositions),
and the synthetic mixing spectra."""
import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.distributions import (
    AffineTransform,
    Bernoulli,
    Dirichlet,
    Independent,
    Normal,
    RelaxedOneHotCategorical,
    SigmoidTransform,
    TransformedDistribution,
    kl_divergence,
)

from rep_utils import spectra
from rep_utils.data import ImageData
from rep_utils.ivae import (
    M2,
    IVAEConfig,
    SimplexM2,
    SpectraConfig,
    class_images,
    elbo_labelled,
    elbo_unfeatured,
    elbo_unlabelled,
    gaussian_kl,
    gumbel_softmax_sample,
    ivae_loss,
    log_box,
    log_concrete,
    log_logistic_normal,
    match_dimensions,
    spectra_metrics,
    train_ivae,
    untapped_mnist,
    untapped_spectra,
)

CFG = IVAEConfig(classes=3, labelled_classes=2, z_dim=2, hidden_y=(5,), hidden_z=(4,), hidden_x=(6,))


def _tiny(seed=0):
    torch.manual_seed(seed)
    return M2(4, CFG)


def _box(mu, logvar, cfg=CFG):
    """q(z|x,y) as torch.distributions builds it: Normal, then sigmoid, then scale onto the box."""
    base = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    return TransformedDistribution(base, [SigmoidTransform(), AffineTransform(cfg.z_lo, cfg.z_hi - cfg.z_lo)])


def test_log_box_matches_torch_transformed_normal():
    mu, logvar = torch.randn(6, 2), torch.randn(6, 2)
    d = _box(mu, logvar)
    z = d.sample()
    assert torch.allclose(log_box(z, mu, logvar, CFG.z_lo, CFG.z_hi), d.log_prob(z), atol=1e-4)


def test_sample_z_stays_in_box_and_reports_its_density():
    model, x, y = _tiny(), torch.rand(50, 4).round(), F.one_hot(torch.arange(50) % 3, 3).float()
    z, log_pq = model.sample_z(x, y, torch.Generator().manual_seed(1))
    assert ((z > CFG.z_lo) & (z < CFG.z_hi)).all()
    mu, logvar = model.q_z_given_xy(x, y)
    assert torch.allclose(log_pq, 2 * math.log(1 / 3) - _box(mu, logvar).log_prob(z), atol=1e-4)


def test_concrete_density_matches_torch_relaxed_one_hot():
    logits = torch.randn(8, 5)
    for tau in (0.5, 1.0, 2.0):
        y = RelaxedOneHotCategorical(torch.tensor(tau), logits=logits).sample()
        ref = RelaxedOneHotCategorical(torch.tensor(tau), logits=logits).log_prob(y)
        assert torch.allclose(log_concrete(y.log(), logits, tau), ref, atol=1e-4)


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


def _replay(seed):
    """A generator in the state the bound's own generator started from: replays its draws."""
    return torch.Generator().manual_seed(seed)


def test_elbo_labelled_by_hand():
    model, x, y = _tiny(), torch.rand(5, 4).round(), F.one_hot(torch.tensor([0, 1, 2, 0, 1]), 3).float()
    got = elbo_labelled(model, x, y, _replay(3))
    mu, logvar = model.q_z_given_xy(x, y)
    eps = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=_replay(3))
    z = CFG.z_lo + (CFG.z_hi - CFG.z_lo) * torch.sigmoid(eps)
    log_px = Independent(Bernoulli(logits=model.p_x_given_yz(y, z)), 1).log_prob(x)
    want = log_px + math.log(1 / 3) + 2 * math.log(1 / 3) - _box(mu, logvar).log_prob(z)  # p(z) = 1/3 per dim
    assert torch.allclose(got, want, atol=1e-4)


def test_elbo_unlabelled_by_hand():
    model, x = _tiny(), torch.rand(5, 4).round()
    got = elbo_unlabelled(model, x, _replay(4))
    g, logits = _replay(4), model.q_y_given_x(x)
    u = torch.rand(logits.shape, generator=g)
    y = F.softmax(logits - torch.log(-torch.log(u)), 1)  # tau = 1
    mu, logvar = model.q_z_given_xy(x, y)
    eps = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
    z = CFG.z_lo + (CFG.z_hi - CFG.z_lo) * torch.sigmoid(eps)
    one = torch.tensor(1.0)
    want = (Independent(Bernoulli(logits=model.p_x_given_yz(y, z)), 1).log_prob(x)
            + RelaxedOneHotCategorical(one, logits=torch.zeros(3)).log_prob(y) + 2 * math.log(1 / 3)
            - RelaxedOneHotCategorical(one, logits=logits).log_prob(y) - _box(mu, logvar).log_prob(z))
    assert torch.allclose(got, want, atol=1e-3)


def test_elbo_unfeatured_by_hand():
    model = _tiny()
    y = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9]])
    z = torch.tensor([[0.3, -1.2], [1.0, 0.0]])
    got = elbo_unfeatured(model, y, z, _replay(5))
    p_x = Independent(Bernoulli(logits=model.p_x_given_yz(y, z)), 1)
    x = torch.bernoulli(p_x.base_dist.probs, generator=_replay(5))
    mu, logvar = model.q_z_given_xy(x, y)
    want = (RelaxedOneHotCategorical(torch.tensor(1.0), logits=model.q_y_given_x(x)).log_prob(y)
            + _box(mu, logvar).log_prob(z) + 4 * math.log(0.5) - p_x.log_prob(x))
    assert torch.allclose(got, want, atol=1e-4)


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


def test_match_dimensions_greedy():
    # dims 0, 1 are labelled; the class images of dims 2..4 look like digits (4, 4, 2) with these probabilities
    probs = torch.tensor([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0],
                          [0, 0, .1, .2, .7], [0, 0, .1, 0, .9], [0, 0, .6, .3, .1]]).float()
    # dim 3 takes digit 4 (0.9), dim 4 takes digit 2 (0.6), dim 2 is left with digit 3
    assert match_dimensions(probs, 2) == [0, 1, 4, 2, 3]


def test_untapped_split_and_a_short_run(tmp_path):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = (torch.rand(60, 1, 2, 2, generator=g) * 255).to(torch.uint8)
    split = untapped_mnist(ImageData("mnist", "toy", x, y, x[:9], y[:9], list("abc")),
                           replace(CFG, n_unfeatured=6), seed=0)
    assert (split["y_l"].argmax(1) < 2).all() and len(split["x_u"]) == 60
    assert torch.allclose(split["y_u"].sum(1), torch.ones(6)) and split["y_u"].max() == 0.95
    cfg = replace(CFG, batch_size=20, epochs=2, lr=1e-2)
    model, hist = train_ivae(split, cfg, torch.device("cpu"), checkpoint=tmp_path / "c.pt")
    assert len(hist) == 2 and all(math.isfinite(v) for h in hist for v in h.values())
    assert class_images(model, split["x_l"], split["y_l"]).shape == (3, 4)


# ---- compositions on the simplex -------------------------------------------------------------
SCFG = SpectraConfig(classes=3, z_dim=2, hidden_y=(5,), hidden_z=(4,), hidden_x=(6,))


def _simplex(seed=0):
    torch.manual_seed(seed)
    model = SimplexM2(4, SCFG)
    with torch.no_grad():
        model.x_logvar.copy_(torch.randn(4))
    return model


def _logistic_normal(eta_mu, eta_logvar, eta):
    """y and log q(y) of the additive-logistic normal, the Jacobian taken by autograd."""
    def to_y(e):  # the first K-1 coordinates: (exp(e), 1) / (1 + sum exp(e))
        return e.exp() / (1 + e.exp().sum(-1, keepdim=True))
    logdet = torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(to_y, e))[1] for e in eta])
    y = torch.cat([to_y(eta), 1 - to_y(eta).sum(1, keepdim=True)], 1)
    return y, Independent(Normal(eta_mu, (0.5 * eta_logvar).exp()), 1).log_prob(eta) - logdet


def test_gaussian_kl_matches_torch():
    mu, logvar = torch.randn(7, 3), torch.randn(7, 3)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), ref, atol=1e-5)
    assert torch.allclose(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_logistic_normal_density_by_autograd_jacobian():
    mu, logvar, eta = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    y, ref = _logistic_normal(mu, logvar, eta)
    assert torch.allclose(y.sum(1), torch.ones(5)) and (y > 0).all()
    assert torch.allclose(log_logistic_normal(y, mu, logvar), ref, atol=1e-4)


def test_simplex_prior_is_the_uniform_dirichlet():
    y = Dirichlet(torch.ones(3)).sample((4,))
    assert torch.allclose(_simplex().log_p_y(y), Dirichlet(torch.ones(3)).log_prob(y), atol=1e-5)


def test_simplex_elbo_labelled_by_hand():
    model, x, y = _simplex(), torch.randn(5, 4), Dirichlet(torch.ones(3)).sample((5,))
    got = elbo_labelled(model, x, y, _replay(3))
    mu, logvar = model.q_z_given_xy(x, y)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=_replay(3))
    p_x = Independent(Normal(model.x_net(torch.cat([y, z], 1)), (0.5 * model.x_logvar).exp()), 1)
    kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    want = p_x.log_prob(x) + Dirichlet(torch.ones(3)).log_prob(y) - kl
    assert torch.allclose(got, want, atol=1e-4)


def test_simplex_elbo_unlabelled_by_hand():
    model, x = _simplex(), torch.randn(5, 4)
    got = elbo_unlabelled(model, x, _replay(4))
    g = _replay(4)
    mu_y, logvar_y = model.y_net(x).chunk(2, 1)
    eta = mu_y + (0.5 * logvar_y).exp() * torch.randn(5, 2, generator=g)
    y, log_qy = _logistic_normal(mu_y, logvar_y, eta)
    mu, logvar = model.q_z_given_xy(x, y)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
    p_x = Independent(Normal(model.x_net(torch.cat([y, z], 1)), (0.5 * model.x_logvar).exp()), 1)
    kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    want = p_x.log_prob(x) + math.log(2) - log_qy - kl  # uniform Dirichlet density on the 3-simplex: 2! = 2
    assert torch.allclose(got, want, atol=1e-4)


def test_simplex_elbo_unfeatured_by_hand():
    model = _simplex()
    y, z = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6]]), torch.tensor([[0.3, -1.2], [1.0, 0.0]])
    got = elbo_unfeatured(model, y, z, _replay(5))
    p_x = Independent(Normal(model.x_net(torch.cat([y, z], 1)), (0.5 * model.x_logvar).exp()), 1)
    x = p_x.base_dist.loc + p_x.base_dist.scale * torch.randn(2, 4, generator=_replay(5))
    mu_y, logvar_y = model.y_net(x).chunk(2, 1)
    eta = torch.log(y[:, :2] / y[:, 2:])
    mu, logvar = model.q_z_given_xy(x, y)
    q_z = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    want = _logistic_normal(mu_y, logvar_y, eta)[1] + q_z.log_prob(z) + 0.0 - p_x.log_prob(x)  # q(x) flat
    assert torch.allclose(got, want, atol=1e-4)
    got.sum().backward()  # the reparameterised spectrum carries gradient to the decoder
    assert model.x_net[0].weight.grad.abs().sum() > 0


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
    model, hist = train_ivae(split, cfg, torch.device("cpu"))
    assert isinstance(model, SimplexM2) and all(math.isfinite(v) for h in hist for v in h.values())
    r = spectra_metrics(model, split, pls_components=3)
    assert r["rmse_pls"] < 1e-3  # x = y S is exactly linear: PLS inverts it from 20 pairs
    want = (split["y_l"].mean(0) - split["y_test"]).pow(2).mean().sqrt()
    assert abs(r["rmse_mean"] - want.item()) < 1e-6 and 0 < r["rmse"] < 1
