import math

import torch
from torch import nn

from rep_utils.optim import LARS, lars_param_groups, warmup_cosine


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_param_groups_exclude_biases_and_norm():
    net = _net()
    decayed, excluded = lars_param_groups(net, weight_decay=0.1)
    assert {id(p) for p in decayed["params"]} == {id(net[0].weight), id(net[2].weight)}
    assert {id(p) for p in excluded["params"]} == {id(net[0].bias), id(net[1].weight),
                                                   id(net[1].bias), id(net[2].bias)}
    assert (decayed["weight_decay"], decayed["lars"]) == (0.1, True)
    assert (excluded["weight_decay"], excluded["lars"]) == (0.0, False)


def test_lars_step_matches_hand_computation():
    """Two steps, checked against the formulas written out with plain tensors."""
    net = _net()
    w, b = net[0].weight, net[0].bias
    w0, b0 = w.detach().clone(), b.detach().clone()
    lr, mom, wd, eta = 0.5, 0.9, 0.01, 0.02
    opt = LARS(lars_param_groups(net, wd), lr=lr, momentum=mom, eta=eta)
    gw = [torch.randn_like(w) for _ in range(2)]
    gb = [torch.randn_like(b) for _ in range(2)]
    mw, mb, ew, eb = torch.zeros_like(w0), torch.zeros_like(b0), w0.clone(), b0.clone()
    for t in range(2):
        opt.zero_grad()
        w.grad, b.grad = gw[t].clone(), gb[t].clone()
        opt.step()
        u = gw[t] + wd * ew
        u = u * (eta * ew.norm() / u.norm())
        mw, mb = mom * mw + u, mom * mb + gb[t]  # the bias: no decay, no trust ratio
        ew, eb = ew - lr * mw, eb - lr * mb
    torch.testing.assert_close(w.detach(), ew)
    torch.testing.assert_close(b.detach(), eb)


def test_lars_trust_ratio_makes_step_size_independent_of_gradient_scale():
    for scale in (1e-3, 1e3):
        p = nn.Parameter(torch.ones(4, 4))
        opt = LARS([{"params": [p], "weight_decay": 0.0, "lars": True}], lr=1.0, momentum=0.0, eta=0.1)
        p.grad = scale * torch.randn(4, 4)
        opt.step()
        assert math.isclose((p.detach() - 1).norm().item(), 0.1 * 4.0, rel_tol=1e-5)  # eta * ||w||


def test_warmup_cosine_shape():
    assert warmup_cosine(0, 100, 10) == 0.0
    assert math.isclose(warmup_cosine(5, 100, 10), 0.5)
    assert warmup_cosine(10, 100, 10) == 1.0
    assert math.isclose(warmup_cosine(55, 100, 10), 0.5, abs_tol=1e-12)  # half-way through the decay
    assert math.isclose(warmup_cosine(100, 100, 10), 0.0, abs_tol=1e-12)
    values = [warmup_cosine(k, 100, 10) for k in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))
