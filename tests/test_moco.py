import math

import numpy as np
import pytest
import torch

from rep_utils.moco import MoCo, MoCoConfig, info_nce, train_moco
from rep_utils.optim import warmup_cosine


def _info_nce_numpy(q, k, queue, t):
    """Eq. 1 written out per query: the positive against itself plus every queued key."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    total = 0.0
    for qi, ki in zip(q, k):
        pos = math.exp(qi @ ki / t)
        total += -math.log(pos / (pos + sum(math.exp(qi @ kj / t) for kj in queue)))
    return total / len(q)


def test_info_nce_matches_a_loop_over_queries():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    queue = rng.normal(size=(10, 4))
    queue /= np.linalg.norm(queue, axis=1, keepdims=True)
    for t in (0.07, 0.2, 1.0):
        got = info_nce(torch.tensor(q), torch.tensor(k), torch.tensor(queue), t).item()
        assert got == pytest.approx(_info_nce_numpy(q, k, queue, t), rel=1e-5)


def test_info_nce_by_hand():
    """T = 1, the query on its key (cos 1) and two queued keys orthogonal to it (cos 0)."""
    q, k = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert info_nce(q, k, queue, 1.0).item() == pytest.approx(-math.log(math.e / (math.e + 2)))


def test_queue_replaces_the_oldest_keys_and_wraps(tiny_encoder):
    model = MoCo(tiny_encoder(6, 5), hidden_dim=8, out_dim=3, queue_size=4)
    old = model.queue.clone()
    a, b = torch.eye(3)[:2], torch.eye(3)[1:]
    model.enqueue(a)
    torch.testing.assert_close(model.queue, torch.cat([a, old[2:]]))
    model.enqueue(b)
    torch.testing.assert_close(model.queue, torch.cat([a, b]))
    assert int(model.ptr) == 0
    model.enqueue(b)
    torch.testing.assert_close(model.queue[:2], b)


def test_loss_trains_only_the_query_and_the_key_follows_by_momentum(tiny_encoder):
    model = MoCo(tiny_encoder(6, 5), hidden_dim=8, out_dim=3, queue_size=8)
    key0 = [p.clone() for p in model.key.parameters()]
    v1, v2 = torch.randn(4, 6), torch.randn(4, 6)
    with torch.no_grad():
        keys = torch.nn.functional.normalize(model.key(v2), dim=1)
    model.loss(v1, v2).backward()
    torch.testing.assert_close(model.queue[:4], keys)  # this batch's keys were queued
    assert all(p.grad is not None for p in model.query.parameters())
    assert all(p.grad is None for p in model.key.parameters())
    with torch.no_grad():
        for p in model.query.parameters():
            p.add_(1.0)
    model.update_key(0.9)
    for k0, k, q in zip(key0, model.key.parameters(), model.query.parameters()):
        torch.testing.assert_close(k, 0.9 * k0 + 0.1 * q)  # Eq. 2


def test_train_moco_on_toy_images(one_thread, toy_images):
    """The shared loop: one history row per epoch, 18 steps, the key encoder moved, the
    queue filled with unit keys. (The loss need not fall here: the random keys the queue starts
    with are easier negatives than the real keys that replace them.)"""
    cfg = MoCoConfig(backbone="small_cnn", n_train=96, n_test=32, image_size=8, epochs=6,
                     batch_size=32, hidden_dim=16, out_dim=8, queue_size=64, m=0.9, base_lr=0.3)
    model, history = train_moco(toy_images, cfg, torch.device("cpu"), progress=False)
    assert [h["epoch"] for h in history] == list(range(1, 7))
    steps = [warmup_cosine(k, 18, 0) for k in (15, 16, 17)]  # the last epoch: steps 15-17 of 18
    assert history[-1]["lr"] == pytest.approx(0.3 * 32 / 256 * np.mean(steps))
    assert set(history[0]) == {"epoch", "loss", "lr"} and all(math.isfinite(h["loss"]) for h in history)
    torch.testing.assert_close(model.queue.norm(dim=1), torch.ones(64))
    moved = [(k - q).abs().max() for k, q in zip(model.key.parameters(), model.query.parameters())]
    assert max(moved) > 0  # the key network lags behind the query network
    with pytest.raises(ValueError, match="multiple of batch_size"):
        train_moco(toy_images, MoCoConfig(queue_size=50, batch_size=32, epochs=1, backbone="small_cnn",
                                       image_size=8), torch.device("cpu"))


def test_profiles():
    full = MoCoConfig.for_profile("full")
    assert (full.base_lr, full.weight_decay, full.temperature, full.m, full.queue_size) == (0.03, 1e-4, 0.2, 0.999, 65536)
    ci = MoCoConfig.for_profile("ci")
    assert ci.queue_size % ci.batch_size == 0 and ci.queue_size <= ci.n_train
