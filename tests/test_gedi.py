import math
from dataclasses import replace

import pytest
import torch
from torch.distributions import Normal

from rep_utils.evaluate import predict
from rep_utils.gedi import (
    GEDI,
    GEDIConfig,
    GEDIImageConfig,
    check_energy,
    energy,
    gedi_loss,
    generative_loss,
    invariance_loss,
    make_buffer,
    make_views,
    scale_pixels,
    train_gedi,
    uniformity_loss,
)
from rep_utils.gedi_scores import toy_2d

TINY = replace(GEDIConfig(), hidden=16, n_train=200, iterations=4, batch_size=50, sgld_steps=3,
               buffer_size=100)
TINY_IMG = replace(GEDIImageConfig(), width=4, iterations=2, batch_size=8, sgld_steps=2, buffer_size=20)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: thread start-up costs more than the work (and far more on a busy machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_energy_is_minus_logsumexp_of_the_logits_and_posterior_is_exp_logit_plus_energy():
    z = torch.tensor([[0.0, math.log(3.0)], [2.0, 2.0]])
    assert torch.allclose(energy(z), torch.tensor([-math.log(4.0), -(2.0 + math.log(2.0))]))
    # p(y|x) = exp(z_y) / sum exp(z) = exp(z_y + E(x)), and a shift of all logits shifts E only
    assert torch.allclose(z.softmax(1), (z + energy(z)[:, None]).exp())
    assert torch.allclose(energy(z + 5.0), energy(z) - 5.0)
    model = GEDI(replace(TINY, tau=0.5))
    x = torch.randn(7, 2)
    assert torch.allclose(model.energy(x), -torch.logsumexp(model.projector(model.encoder(x)) / 0.5, 1))


def test_generative_loss_by_hand():
    e_data, e_s = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    assert generative_loss(e_data, e_s).item() == pytest.approx(2.0 - 1.0)
    assert generative_loss(e_data, e_s, l2=0.5).item() == pytest.approx(1.0 + 0.5 * ((1 + 9) / 2 + (0 + 4) / 2))


def test_contrastive_divergence_gradient_is_the_exact_likelihood_gradient():
    """E_theta(x) = theta x^2 / 2 is a Gaussian of precision theta: -d/dtheta mean log p(x_data)
    = mean(x_data^2) / 2 - 1 / (2 theta). With exact model samples the CD loss has that gradient."""
    theta = torch.tensor(2.0, requires_grad=True)
    x_data = Normal(0.0, 1.5).sample((200_000,))
    x_model = Normal(0.0, 1 / math.sqrt(2.0)).sample((200_000,))
    generative_loss(theta * x_data ** 2 / 2, theta * x_model ** 2 / 2).backward()
    assert theta.grad.item() == pytest.approx(x_data.pow(2).mean().item() / 2 - 1 / (2 * 2.0), abs=0.01)


def test_invariance_loss_by_hand_and_gradients_reach_both_views():
    z1 = torch.log(torch.tensor([[0.2, 0.8], [0.5, 0.5]])).requires_grad_(True)
    z2 = torch.log(torch.tensor([[0.9, 0.1], [0.25, 0.75]])).requires_grad_(True)
    expected = -((0.9 * math.log(0.2) + 0.1 * math.log(0.8)) + (0.25 + 0.75) * math.log(0.5)) / 2
    loss = invariance_loss(z1, z2)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert z1.grad.abs().sum() > 0 and z2.grad.abs().sum() > 0  # no stop-gradient


def test_uniformity_loss_by_hand():
    z = torch.log(torch.tensor([[0.2, 0.8], [0.6, 0.4]]))  # batch mean posterior (0.4, 0.6)
    assert uniformity_loss(z).item() == pytest.approx(-(math.log(0.4) + math.log(0.6)), rel=1e-6)


@pytest.mark.parametrize("c", [2, 5])
def test_uniformity_loss_is_minimal_at_uniform_cluster_use(c):
    lower = c * math.log(c)
    for _ in range(50):
        assert uniformity_loss(3 * torch.randn(64, c)).item() >= lower - 1e-5
    balanced = 20 * torch.eye(c).repeat(4, 1)  # confident, each cluster used equally
    assert uniformity_loss(balanced).item() == pytest.approx(lower, abs=1e-4)
    collapsed = torch.zeros(8, c)
    collapsed[:, 0] = 30.0  # all points in cluster 0: large but finite
    assert math.isfinite(uniformity_loss(collapsed).item()) and uniformity_loss(collapsed) > lower + 10
    z = torch.randn(32, c)
    z[:, 0] += 4  # skewed start; gradient descent finds uniform use
    z.requires_grad_(True)
    opt = torch.optim.SGD([z], lr=20.0)
    for _ in range(300):
        opt.zero_grad()
        uniformity_loss(z).backward()
        opt.step()
    assert uniformity_loss(z).item() == pytest.approx(lower, abs=1e-3)
    assert torch.allclose(z.softmax(1).mean(0), torch.full((c,), 1 / c), atol=1e-3)


def test_divergence_guard_raises_and_names_the_knob():
    check_energy(torch.tensor([1.0, -50.0]), limit=100.0, step=3)
    for bad in (float("nan"), float("inf"), 1e6):
        with pytest.raises(FloatingPointError, match=r"cfg\.lr"):
            check_energy(torch.tensor([0.0, bad]), limit=100.0, step=3)
    model = GEDI(TINY)
    with torch.no_grad():
        model.projector.weight.mul_(1e6)  # an exploded network
    buffer = make_buffer(TINY, (2,), "cpu")
    with pytest.raises(FloatingPointError, match="max_energy"):
        gedi_loss(model, torch.randn(10, 2), buffer, TINY, torch.Generator().manual_seed(0))


def test_switches_select_the_terms_and_only_the_generative_term_runs_the_sampler():
    model, x = GEDI(TINY), torch.randn(10, 2)
    buffer = make_buffer(TINY, (2,), "cpu")
    before = buffer.samples.clone()
    cfg = replace(TINY, gen=False, lambda_inv=2.0, lambda_prior=3.0)
    loss, terms = gedi_loss(model, x, buffer, cfg, torch.Generator().manual_seed(0))
    assert "gen" not in terms and torch.equal(buffer.samples, before)
    assert loss.item() == pytest.approx(2.0 * terms["inv"].item() + 3.0 * terms["prior"].item(), rel=1e-6)
    loss, terms = gedi_loss(model, x, buffer, replace(TINY, inv=False, prior=False),
                            torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx(terms["gen"].item(), rel=1e-6)
    assert not torch.equal(buffer.samples, before)  # chains advanced and written back
    assert buffer.samples.abs().max() <= TINY.box
    with pytest.raises(ValueError, match="all three terms"):
        gedi_loss(model, x, buffer, replace(TINY, gen=False, inv=False, prior=False), None)


def test_warmup_trains_the_generative_term_alone_then_all_three():
    model, x = GEDI(TINY), torch.randn(10, 2)
    cfg = replace(TINY, warmup=5)
    for step, alone in ((4, True), (5, False)):
        loss, terms = gedi_loss(model, x, make_buffer(cfg, (2,), "cpu"), cfg, torch.Generator().manual_seed(0), step)
        both = terms["gen"] + (0 if alone else terms["inv"] + terms["prior"])
        assert loss.item() == pytest.approx(both.item(), rel=1e-6)
    cfg = replace(cfg, gen=False)  # nothing to warm up: the clustering terms from the first step
    loss, terms = gedi_loss(model, x, make_buffer(cfg, (2,), "cpu"), cfg, None, 0)
    assert loss.item() == pytest.approx((terms["inv"] + terms["prior"]).item(), rel=1e-6)


def test_training_runs_and_is_reproducible():
    x, _ = toy_2d("moons", TINY.n_train)
    runs = [train_gedi(x, TINY, torch.device("cpu"), seed=1) for _ in range(2)]
    (m1, b1, h1), (m2, b2, h2) = runs
    assert len(h1) * (TINY.n_train // TINY.batch_size) >= TINY.iterations
    assert all(math.isfinite(v) for h in h1 for v in h.values())
    assert torch.equal(b1.samples, b2.samples)
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))


def test_iterations_are_rounded_up_to_whole_epochs():
    """200 points in batches of 50: 4 steps an epoch, so 5 iterations train 2 epochs (8 steps)."""
    x, _ = toy_2d("moons", TINY.n_train)
    _, _, h = train_gedi(x, replace(TINY, iterations=5, sgld_steps=1), torch.device("cpu"), progress=False)
    assert len(h) == 2


def test_scale_pixels_maps_the_pixel_range_to_minus_one_one():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 1, 1, 3)
    assert torch.allclose(scale_pixels(x).flatten(), torch.tensor([-1.0, 51 / 127.5 - 1, 1.0]))
    assert torch.allclose(scale_pixels(x.float() / 255), scale_pixels(x))


def test_image_views_are_augmented_pixels_plus_noise():
    x = scale_pixels(torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8))
    v1, v2 = make_views(x, replace(TINY_IMG, sigma=0.0), torch.Generator().manual_seed(0))
    assert v1.shape == x.shape and v1.min() >= -1 and v1.max() <= 1
    assert not torch.allclose(v1, v2)  # two independent augmentations
    cfg = replace(TINY_IMG, augment=None, sigma=0.5)  # no augmentation: x plus N(0, sigma^2)
    v1, v2 = make_views(x, cfg, torch.Generator().manual_seed(0))
    assert (v1 - x).std().item() == pytest.approx(0.5, rel=0.05)


def test_image_space_langevin_step_and_contrastive_divergence_by_hand():
    """Encoder = flatten, so z = W x / tau and -E = logsumexp(z): the gradient of -E is
    W^T softmax(z) / tau. One noise-free step of size eta from each buffer image x0 gives
    clamp(x0 + eta W^T softmax(W x0 / tau) / tau, -1, 1), and the generative term is
    mean E(data) - mean E(samples) + l2 (mean E(data)^2 + mean E(samples)^2)."""
    cfg = replace(TINY_IMG, inv=False, prior=False, augment=None, sigma=0.0, sgld_steps=1,
                  sgld_step_size=0.3, sgld_noise=0.0, buffer_size=10_000, reinit=0.0, tau=0.5)
    model = GEDI(cfg, (1, 4, 4))
    model.encoder = torch.nn.Flatten()
    model.projector = torch.nn.Linear(16, cfg.n_clusters)
    W, b = model.projector.weight.detach(), model.projector.bias.detach()
    buffer = make_buffer(cfg, (1, 4, 4), "cpu", torch.Generator().manual_seed(1))
    before = buffer.samples.clone()
    assert before.shape == (10_000, 1, 4, 4) and before.abs().max() <= 1.0  # uniform in [-1, 1]
    x = torch.rand(5, 1, 4, 4) * 2 - 1
    _, terms = gedi_loss(model, x, buffer, cfg, torch.Generator().manual_seed(2))
    changed = (buffer.samples != before).flatten(1).any(1)
    assert changed.sum() == len(x)
    x0 = before[changed].flatten(1)
    p = ((x0 @ W.T + b) / cfg.tau).softmax(1)
    x1 = (x0 + cfg.sgld_step_size * p @ W / cfg.tau).clamp(-1, 1)
    assert torch.allclose(buffer.samples[changed].flatten(1), x1, atol=1e-5)

    def e(u):
        return -torch.logsumexp((u.flatten(1) @ W.T + b) / cfg.tau, 1)
    e_d, e_s = e(x), e(x1)
    expected = e_d.mean() - e_s.mean() + cfg.energy_l2 * (e_d.pow(2).mean() + e_s.pow(2).mean())
    assert terms["gen"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_image_training_runs_with_batchnorm_and_is_reproducible():
    x = scale_pixels(torch.randint(0, 256, (24, 1, 28, 28), dtype=torch.uint8))
    runs = [train_gedi(x, TINY_IMG, torch.device("cpu"), seed=3) for _ in range(2)]
    (m1, b1, h1), (m2, b2, h2) = runs
    assert all(math.isfinite(v) for h in h1 for v in h.values()) and "gen" in h1[-1]
    assert b1.samples.shape == (20, 1, 28, 28) and b1.samples.abs().max() <= 1.0
    assert torch.equal(b1.samples, b2.samples)
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    m1.train()
    z = predict(m1, x, batch_size=5)  # batches in eval mode = one pass in eval mode
    assert m1.training
    m1.eval()
    with torch.no_grad():
        assert torch.allclose(z, m1(x), atol=1e-5)


def test_an_interrupted_run_resumes_with_its_replay_buffer(tmp_path):
    """The checkpoint holds the chains: stopping after epoch 1 and resuming ends where one
    uninterrupted run ends."""
    x = scale_pixels(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8))
    cfg = replace(TINY_IMG, iterations=6)  # 2 batches per epoch: 3 epochs
    m_ref, b_ref, _ = train_gedi(x, cfg, torch.device("cpu"), seed=4)

    def stop(epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return {}
    ck = tmp_path / "gedi.pt"
    with pytest.raises(KeyboardInterrupt):
        train_gedi(x, cfg, torch.device("cpu"), seed=4, checkpoint=ck, on_epoch_end=stop)
    m, b, h = train_gedi(x, cfg, torch.device("cpu"), seed=4, checkpoint=ck)
    assert len(h) == 3 and torch.equal(b.samples, b_ref.samples)
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), m_ref.parameters()))


def test_a_batch_larger_than_the_data_loaded_says_what_to_change():
    x = scale_pixels(torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8))
    with pytest.raises(ValueError, match="lower batch_size"):
        train_gedi(x, replace(TINY_IMG, n_train=None, batch_size=8), torch.device("cpu"))
