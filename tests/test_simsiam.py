import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rep_utils import simsiam
from rep_utils.simsiam import SimSiam, SimSiamConfig, negative_cosine, train_simsiam


def test_negative_cosine_closed_form():
    p = torch.tensor([[1.0, 0.0], [1.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.0, 5.0], [2.0, 2.0], [-1.0, 0.0], [1.0, 1.0]])
    # orthogonal 0, parallel -1, opposite +1, 45 degrees -1/sqrt(2); the loss is their mean
    expected = (0.0 - 1.0 + 1.0 - 1 / math.sqrt(2)) / 4
    assert negative_cosine(p, z).item() == pytest.approx(expected)


def test_stop_gradient_blocks_the_target_branch():
    """D(p, sg(z)): the gradient reaches p but not z, although z requires one."""
    p = torch.randn(6, 4, requires_grad=True)
    z = torch.randn(6, 4, requires_grad=True)
    g_p, g_z = torch.autograd.grad(negative_cosine(p, z), [p, z], allow_unused=True)
    assert g_z is None and g_p.abs().sum() > 0
    g_z_free, = torch.autograd.grad(-F.cosine_similarity(p, z).mean(), [z])  # without sg it would flow
    assert g_z_free.abs().sum() > 0



@pytest.fixture
def model(tiny_encoder):
    return SimSiam(tiny_encoder(12, 6), dim=8, pred_dim=3)


def test_symmetric_loss_and_where_gradients_flow(model):
    v1, v2 = torch.randn(8, 3, 2, 2), torch.randn(8, 3, 2, 2)
    z1, z2 = model.projector(model.encoder(v1)), model.projector(model.encoder(v2))
    p1, p2 = model.predictor(z1), model.predictor(z2)
    cos = lambda a, b: ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).mean()  # noqa: E731
    expected = -0.5 * cos(p1, z2) - 0.5 * cos(p2, z1)
    torch.testing.assert_close(model.loss(v1, v2), expected)
    assert -1 <= model.loss(v1, v2).item() <= 1
    # only through p: d loss / d z2 equals the gradient via p2 = h(z2) alone
    z1, z2 = z1.detach().requires_grad_(), z2.detach().requires_grad_()
    loss = 0.5 * negative_cosine(model.predictor(z1), z2) + 0.5 * negative_cosine(model.predictor(z2), z1)
    g2, = torch.autograd.grad(loss, [z2])
    only_p, = torch.autograd.grad(0.5 * negative_cosine(model.predictor(z2), z1.detach()), [z2])
    torch.testing.assert_close(g2, only_p)


def test_predictor_is_a_bottleneck_and_projector_output_is_batch_normalised(model):
    assert [m.out_features for m in model.predictor if isinstance(m, nn.Linear)] == [3, 8]
    assert isinstance(model.projector[-1], nn.BatchNorm1d) and not model.projector[-1].affine


def test_profiles():
    full = SimSiamConfig.for_profile("full")
    assert (full.base_lr, full.weight_decay, full.momentum, full.dim, full.pred_dim) == (0.05, 1e-4, 0.9, 2048, 512)
    assert full.fix_pred_lr and full.warmup_epochs == 0
    with pytest.raises(ValueError, match="choose one of"):
        SimSiamConfig.for_profile("bogus")


def test_train_simsiam_keeps_the_predictor_rate_fixed(one_thread, toy_images, monkeypatch):
    """With ``fix_pred_lr`` the predictor's group ends the cosine schedule at the peak rate,
    the rest near zero (official code's ``--fix-pred-lr``)."""
    opts, real = [], simsiam.train_two_view

    def spy(model, opt, *args, **kwargs):
        opts.append(opt)
        return real(model, opt, *args, **kwargs)

    monkeypatch.setattr(simsiam, "train_two_view", spy)
    cfg = SimSiamConfig(backbone="small_cnn", image_size=8, epochs=2, batch_size=32, dim=16, pred_dim=4)
    model, history = train_simsiam(toy_images, cfg, torch.device("cpu"), progress=False)
    peak = cfg.base_lr * cfg.batch_size / 256
    rest, predictor = opts[0].param_groups
    assert predictor["lr"] == peak and 0 < rest["lr"] < 0.3 * peak
    assert {id(p) for p in predictor["params"]} == {id(p) for p in model.predictor.parameters()}
    assert [h["epoch"] for h in history] == [1, 2] and all(math.isfinite(h["loss"]) for h in history)
