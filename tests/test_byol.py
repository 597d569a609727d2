import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rep_utils.byol import BYOL, BYOLConfig, regression_loss, tau_schedule
from rep_utils.optim import LARS, lars_param_groups


@pytest.fixture
def model(tiny_encoder):
    return BYOL(tiny_encoder(6, 5), hidden_dim=16, out_dim=4)


def test_regression_loss_closed_form():
    p = torch.tensor([[1.0, 0.0], [1.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.0, 5.0], [2.0, 2.0], [-1.0, 0.0], [1.0, 1.0]])
    # orthogonal -> 2, parallel -> 0, opposite -> 4, 45 degrees -> 2 - sqrt(2)
    torch.testing.assert_close(regression_loss(p, z), torch.tensor([2.0, 0.0, 4.0, 2 - math.sqrt(2)]))
    pn, zn = p / p.norm(dim=1, keepdim=True), z / z.norm(dim=1, keepdim=True)  # Eq. 2 as written
    torch.testing.assert_close(regression_loss(p, z), ((pn - zn) ** 2).sum(1))


def test_symmetric_loss_sums_both_view_orders(model):
    v1, v2 = torch.randn(8, 6), torch.randn(8, 6)
    loss = model.loss(v1, v2)
    p1, p2 = model.predictor(model.online(v1)), model.predictor(model.online(v2))
    z1, z2 = model.target(v1), model.target(v2)
    cos = lambda a, b: (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))  # noqa: E731
    expected = ((2 - 2 * cos(p1, z2)) + (2 - 2 * cos(p2, z1))).mean()
    torch.testing.assert_close(loss, expected)
    assert 0 <= loss.item() <= 8  # two terms, each in [0, 4]


def test_target_starts_as_copy_and_receives_no_gradient(model):
    for xi, theta in zip(model.target.parameters(), model.online.parameters()):
        assert torch.equal(xi, theta) and not xi.requires_grad
    model.loss(torch.randn(8, 6), torch.randn(8, 6)).backward()
    assert all(p.grad is None for p in model.target.parameters())
    assert all(p.grad is not None for p in model.online.parameters())
    assert all(p.grad is not None for p in model.predictor.parameters())


def test_ema_update_formula(model):
    with torch.no_grad():
        for p in model.online.parameters():
            p.add_(torch.randn_like(p))
    xi0 = [p.clone() for p in model.target.parameters()]
    theta = [p.clone() for p in model.online.parameters()]
    tau = 0.9
    model.update_target(tau)
    for new, old, th in zip(model.target.parameters(), xi0, theta):
        torch.testing.assert_close(new, tau * old + (1 - tau) * th)
    model.update_target(0.0)  # tau = 0: the target is a copy of the online network
    for new, th in zip(model.target.parameters(), theta):
        torch.testing.assert_close(new, th)


def test_tau_schedule_endpoints_and_midpoint():
    assert math.isclose(tau_schedule(0, 1000, 0.996), 0.996)
    assert math.isclose(tau_schedule(1000, 1000, 0.996), 1.0)
    assert math.isclose(tau_schedule(500, 1000, 0.996), 0.998)
    taus = [tau_schedule(k, 100, 0.99) for k in range(101)]
    assert all(a <= b for a, b in zip(taus, taus[1:]))
    assert all(tau_schedule(k, 100, 0.0, 0.0) == 0.0 for k in range(101))


def test_no_predictor_ablation(tiny_encoder):
    model = BYOL(tiny_encoder(6, 5), hidden_dim=16, out_dim=4, predictor=False)
    assert isinstance(model.predictor, nn.Identity)
    v = torch.randn(8, 6)
    torch.testing.assert_close(model.loss(v, v), torch.zeros(()), atol=1e-5, rtol=0)  # online == target


def test_profiles_keep_paper_heads_outside_ci():
    for name in ("colab", "full"):
        cfg = BYOLConfig.for_profile(name)
        assert (cfg.hidden_dim, cfg.out_dim, cfg.backbone) == (4096, 256, "resnet18")
    full = BYOLConfig.for_profile("full")
    assert (full.base_lr, full.weight_decay, full.tau_base, full.eta) == (0.2, 1.5e-6, 0.996, 1e-3)
    with pytest.raises(ValueError, match="choose one of"):
        BYOLConfig.for_profile("bogus")


def test_loss_falls_on_toy_problem(one_thread, tiny_encoder):
    """Two noisy views of points from 3 clusters: the loss falls and the embedding stays spread."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    centres = torch.tensor(rng.normal(size=(3, 6)), dtype=torch.float32) * 3
    model = BYOL(tiny_encoder(6, 16), hidden_dim=32, out_dim=8)
    opt = LARS(lars_param_groups(nn.ModuleList([model.online, model.predictor]), 1e-5), lr=0.5, eta=0.02)
    losses = []
    for k in range(300):
        x = centres[torch.randint(0, 3, (64,))]
        v1, v2 = x + 0.3 * torch.randn_like(x), x + 0.3 * torch.randn_like(x)
        loss = model.loss(v1, v2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.update_target(tau_schedule(k, 300, 0.99))
        losses.append(loss.item())
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    model.eval()
    z = F.normalize(model.online(centres), dim=1)
    assert (z @ z.T).fill_diagonal_(0).max() < 0.99  # the three clusters do not map to one point


def test_train_byol_on_toy_images(one_thread, toy_images):
    """The shared loop with BYOL's hooks: epoch 0 is the untrained network (its collapse metrics,
    equal to build_byol's), one row per epoch, the step counter, tau rising, the target moved
    away from its start but behind the online network."""
    from rep_utils.byol import build_byol, collapse_metrics, train_byol

    data = toy_images
    cfg = BYOLConfig(backbone="small_cnn", image_size=8, epochs=3, batch_size=32, hidden_dim=16,
                     out_dim=8, optimizer="adamw", base_lr=4e-3, warmup_epochs=1, tau_base=0.9)
    start = build_byol(cfg, 1, 0, torch.device("cpu"))
    model, history = train_byol(data, cfg, torch.device("cpu"), progress=False)
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert history[3]["tau"] == pytest.approx(np.mean([tau_schedule(k, 9, 0.9) for k in (6, 7, 8)]))  # steps 0-8
    assert history[0] == {"epoch": 0, **collapse_metrics(start, data.x_test, *data.mean_std, torch.device("cpu"))}
    assert {"loss", "tau", "lr", "z_std", "rankme_z"} <= set(history[1])
    assert history[1]["tau"] < history[3]["tau"] <= 1
    t0, t, o = (torch.cat([p.flatten() for p in m.parameters()]) for m in (start.target, model.target, model.online))
    assert (t - t0).abs().max() > 0 and (t - o).abs().max() > 0
    with pytest.raises(ValueError, match="choose 'lars' or 'adamw'"):
        train_byol(data, BYOLConfig(backbone="small_cnn", image_size=8, epochs=1, batch_size=32,
                                    optimizer="sgd"), torch.device("cpu"))


def test_ablations_change_one_thing_each():
    from rep_utils.byol import ABLATIONS

    base = BYOLConfig.for_profile("ci")
    for name, changes in ABLATIONS.items():
        cfg = replace(base, **changes)
        changed = {f for f in vars(base) if getattr(cfg, f) != getattr(base, f)}
        assert changed and changed <= set(changes), name
    fixed = replace(base, **ABLATIONS["fixed random target (τ = 1)"])
    assert all(tau_schedule(k, 100, fixed.tau_base, fixed.tau_end) == 1.0 for k in (0, 50, 100))
    off = replace(base, **ABLATIONS["no target (τ = 0)"])
    assert all(tau_schedule(k, 100, off.tau_base, off.tau_end) == 0.0 for k in (0, 50, 100))
