import math

import numpy as np
import pytest
import torch

from rep_utils.simclr import SimCLR, SimCLRConfig, nt_xent, train_simclr


def _nt_xent_numpy(z1, z2, tau):
    """Eq. 1 written out with loops: anchors 1..2N, views interleaved as in Algorithm 1."""
    z = np.empty((2 * len(z1), z1.shape[1]))
    z[0::2], z[1::2] = z1, z2  # 2k-1 and 2k are the two views of image k
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = i + 1 if i % 2 == 0 else i - 1
        denom = sum(math.exp(z[i] @ z[k] / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(z[i] @ z[j] / tau) / denom)
    return total / n2


def test_nt_xent_matches_a_loop_over_anchors():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    for tau in (0.1, 0.5, 1.0):
        got = nt_xent(torch.tensor(z1), torch.tensor(z2), tau).item()
        assert got == pytest.approx(_nt_xent_numpy(z1, z2, tau), rel=1e-5)


def test_nt_xent_by_hand_two_images():
    """N = 2, tau = 1: views of image 1 along e1, of image 2 along e2 (orthogonal). Each anchor
    sees its partner at cos 1 and two negatives at cos 0: l = -log(e / (e + 2))."""
    e1, e2 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    loss = nt_xent(torch.cat([e1, e2]), torch.cat([2 * e1, e2]), 1.0)
    assert loss.item() == pytest.approx(-math.log(math.e / (math.e + 2)))


@pytest.mark.parametrize("n", [1, 4, 16])
def test_nt_xent_is_log_2n_minus_1_when_all_embeddings_are_equal(n):
    """All 2N - 1 candidates tie, so the softmax is uniform whatever tau."""
    z = torch.ones(n, 7)
    assert nt_xent(z, z, 0.2).item() == pytest.approx(math.log(2 * n - 1), rel=1e-6)


def test_nt_xent_rewards_aligned_positives_and_is_symmetric():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(8, 4, generator=g)
    aligned = nt_xent(z1, z1 + 0.01 * torch.randn(8, 4, generator=g), 0.1)
    shuffled = nt_xent(z1, z1[torch.randperm(8, generator=g)], 0.1)
    assert aligned < shuffled
    z2 = torch.randn(8, 4, generator=g)
    torch.testing.assert_close(nt_xent(z1, z2, 0.3), nt_xent(z2, z1, 0.3))



def test_model_loss_uses_the_projector_and_both_views(tiny_encoder):
    model = SimCLR(tiny_encoder(12, 6), hidden_dim=16, out_dim=4, temperature=0.5)
    v1, v2 = torch.randn(8, 3, 2, 2), torch.randn(8, 3, 2, 2)
    z1, z2 = model.projector(model.encoder(torch.cat([v1, v2]))).chunk(2)
    torch.testing.assert_close(model.loss(v1, v2), nt_xent(z1, z2, 0.5))
    model.loss(v1, v2).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_profiles():
    full = SimCLRConfig.for_profile("full")
    assert (full.base_lr, full.weight_decay, full.temperature, full.out_dim) == (0.3, 1e-6, 0.5, 128)
    assert SimCLRConfig.for_profile("ci").backbone == "small_cnn"
    with pytest.raises(ValueError, match="choose one of"):
        SimCLRConfig.for_profile("bogus")


def test_train_simclr_on_toy_images(one_thread, toy_images):
    """The shared loop with LARS: one row per epoch with its loss and rate, the loss falls."""
    cfg = SimCLRConfig(backbone="small_cnn", image_size=8, epochs=4, batch_size=32, hidden_dim=16, out_dim=8,
                       warmup_epochs=1)
    model, history = train_simclr(toy_images, cfg, torch.device("cpu"), progress=False)
    assert [set(h) for h in history] == [{"epoch", "loss", "lr"}] * 4
    assert history[-1]["loss"] < history[0]["loss"]
    assert model.encoder(torch.zeros(2, 1, 8, 8)).shape == (2, model.encoder.feature_dim)
