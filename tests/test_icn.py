import math
from dataclasses import replace

import pytest
import torch
from torch.distributions import Categorical

from rep_utils.data import ImageData, normalize
from rep_utils.icn import ICNConfig, NegativePool, arms, icn_loss, log_ratio, noise_reference, synthesize, train_icn
from rep_utils.models import ResNet18Cifar

CPU = torch.device("cpu")


def test_log_ratio_is_the_log_posterior_ratio_of_class_k_to_the_negative_class():
    logits = torch.randn(6, 4)  # K = 3 classes + the negative class
    k = torch.tensor([0, 1, 2, 2, 1, 0])
    logp = Categorical(logits=logits)
    expected = logp.log_prob(k) - logp.log_prob(torch.full((6,), 3))
    assert torch.allclose(log_ratio(logits, k), expected, atol=1e-5)


def test_icn_loss_is_cross_entropy_to_the_class_and_to_the_negative_class():
    real, neg = torch.randn(5, 4), torch.randn(3, 4)
    y = torch.tensor([0, 2, 1, 1, 0])
    expected = (-Categorical(logits=real).log_prob(y).mean()
                - 0.3 * Categorical(logits=neg).log_prob(torch.full((3,), 3)).mean())
    assert torch.allclose(icn_loss(real, y, neg, alpha=0.3), expected, atol=1e-5)
    # a real image scored as 'negative' costs more than one scored as its class
    confident = torch.tensor([[5.0, 0, 0, 0]])
    assert icn_loss(confident, torch.tensor([0]), confident) > icn_loss(confident, torch.tensor([0]), confident.flip(1))


def test_noise_reference_is_a_standard_gaussian_in_the_normalised_space():
    x = noise_reference(20000, (1, 2, 2), (0.5,), (0.1,), CPU, torch.Generator().manual_seed(0))
    assert x.shape == (20000, 1, 2, 2) and x.min() >= 0 and x.max() <= 1
    z = normalize(x, (0.5,), (0.1,))
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02


class _Linear(torch.nn.Module):
    """f_k(x) = <w_k, x>: the Bayes ratio f_k - f_neg has the constant gradient w_k - w_neg."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w.T


def test_synthesis_without_noise_is_clamped_gradient_ascent_on_the_ratio():
    w = torch.randn(3, 4)  # K = 2, pixels = 4
    model = _Linear(w).train()
    k = torch.tensor([0, 1, 1])
    x0 = torch.rand(3, 1, 2, 2)
    cfg = ICNConfig(sgld_steps=7, step_size=0.05, noise_std=0.0)
    x = synthesize(model, k, x0, cfg, (0.0,), (1.0,))
    grad = (w[k] - w[-1]).view(3, 1, 2, 2)  # with one sign per pixel the per-step clamps add up
    assert torch.allclose(x, (x0 + 7 * 0.05 * grad).clamp(0, 1), atol=1e-6)
    assert (log_ratio(model(x), k) >= log_ratio(model(x0), k)).all()
    assert model.training and model.w.grad is None  # mode restored, no parameter gradients


def test_negative_pool_keeps_every_round():
    pool = NegativePool()
    for t in range(3):
        pool.add(torch.full((4, 1, 2, 2), float(t)), torch.tensor([0, 1, 0, 1]), t)
    assert len(pool) == 12 and pool.x.shape == (12, 1, 2, 2)
    x1, k1 = pool.of_round(1)
    assert torch.equal(x1, torch.ones(4, 1, 2, 2)) and torch.equal(k1, torch.tensor([0, 1, 0, 1]))


def test_pool_grid_puts_one_image_per_class_in_each_row():
    pool = NegativePool()
    k = torch.tensor([1, 0, 1, 0, 1])
    pool.add(torch.arange(5.0).view(5, 1, 1, 1), k, 0)
    grid = pool.grid(0, per_class=2, num_classes=2).flatten()
    assert grid.tolist() == [1.0, 0.0, 3.0, 2.0]  # row 1: first of class 0, first of class 1; row 2: seconds


def _toy_digits(n=128):
    """Two 'classes' of 12x12 images: dark and bright."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = (torch.rand(n, 1, 12, 12, generator=g) * 100 + 120 * y[:, None, None, None]).to(torch.uint8)
    return ImageData("mnist", "toy", x, y, x[:64], y[:64], ["dark", "bright"])


def test_train_icn_grows_the_pool_and_raises_the_score_of_its_samples():
    data = _toy_digits()
    cfg = ICNConfig(width=8, rounds=3, epochs_per_round=1, batch_size=32, neg_batch=8,
                    neg_per_class=5, sgld_steps=5)
    model, history, pool, stats = train_icn(data, cfg, CPU, seed=0)
    assert len(history) == 3 and [h["round"] for h in history] == [1, 2, 3]
    assert len(pool) == 3 * 2 * 5 and sorted(set(pool.round.tolist())) == [0, 1, 2]
    assert [s["round"] for s in stats] == [1, 2]
    assert all(s["score_synth"] > s["score_noise"] for s in stats)
    assert all(math.isfinite(h["loss"]) for h in history)
    assert model.head.out_features == 3  # K + 1
    run = train_icn(data, cfg, CPU, seed=0)
    assert run.round_errors() == [h["test_err"] for h in history if "test_err" in h] and len(run.round_errors()) == 3
    assert run.test_err == history[-1]["test_err"]
    x1, k1 = pool.of_round(1)
    logits = model.eval()(normalize(x1, *data.mean_std))  # the judge, computed directly
    judged = run.judge(data)
    assert judged["rejected"] == pytest.approx((logits.argmax(1) == 2).float().mean().item())
    assert judged["score"] == pytest.approx((logits.gather(1, k1[:, None]).squeeze(1) - logits[:, 2]).mean().item(), rel=1e-5)


def test_arms_differ_only_in_the_negatives():
    a = arms(ICNConfig(lr=0.1))
    assert list(a) == ["ICN", "baseline"] and a["ICN"].introspective and not a["baseline"].introspective
    assert replace(a["baseline"], introspective=True) == a["ICN"] == ICNConfig(lr=0.1)


def test_baseline_has_the_same_network_and_schedule_without_negatives():
    data = _toy_digits()
    cfg = ICNConfig(width=8, rounds=2, epochs_per_round=1, batch_size=32, introspective=False)
    model, history, pool, stats = train_icn(data, cfg, CPU, seed=0)
    assert len(history) == 2 and len(pool) == 0 and stats == []
    assert model.head.out_features == 3


def test_with_labels_keeps_the_number_of_optimisation_steps_per_round():
    cfg = ICNConfig(batch_size=32, epochs_per_round=2)  # 1,000 images: 31 steps an epoch, 62 a round
    small = cfg.with_labels(100, 1000)  # 3 steps an epoch
    assert small.n_train == 100 and small.epochs_per_round == 21  # 63 steps: the fewest that reach 62
    assert cfg.with_labels(1000, 1000) == replace(cfg, n_train=1000)
    assert cfg.with_labels(100, 1000, draw=2).draw == 2


def test_train_icn_refuses_a_config_for_other_data():
    with pytest.raises(ValueError, match="for_profile"):
        train_icn(_toy_digits(), ICNConfig(dataset="cifar10"), CPU)


def test_profiles_per_dataset():
    for profile in ("ci", "colab", "full"):
        assert ICNConfig.for_profile(profile).dataset == "mnist"
        assert ICNConfig.for_profile(profile, "cifar10").dataset == "cifar10"
    assert ICNConfig.for_profile("ci", "cifar10").backbone == "small_cnn"  # CPU-sized


def test_cifar_colab_network_classifies_and_is_sampled_on_colour_images():
    """The colab/full CIFAR-10 network (the CIFAR ResNet-18, K + 1 outputs) on 32x32 colour images."""
    torch.manual_seed(0)
    cfg = replace(ICNConfig.for_profile("colab", "cifar10"), sgld_steps=1, step_size=0.01, noise_std=0.0)
    net = cfg.network(3, 10).eval()
    assert isinstance(net.backbone, ResNet18Cifar) and net.head.out_features == 11
    x0 = torch.rand(2, 3, 32, 32)
    k = torch.tensor([3, 7])
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    x = synthesize(net, k, x0, cfg, mean, std)
    net.eval()  # synthesize puts the network back in training mode
    ratio = lambda z: log_ratio(net(normalize(z, mean, std)), k)  # noqa: E731
    assert x.shape == x0.shape and (ratio(x) > ratio(x0)).all()  # one small step uphill


def test_the_loop_runs_on_cifar_shaped_data():
    """The ci CIFAR-10 configuration (small CNN on 3x32x32 images), shrunk to a few images."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (48, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.arange(48) % 10
    data = ImageData("cifar10", "toy", x[:32], y[:32], x[32:], y[32:], [str(i) for i in range(10)])
    cfg = replace(ICNConfig.for_profile("ci", "cifar10"), n_train=None, n_test=None, width=8, rounds=2,
                  epochs_per_round=1, batch_size=16, neg_batch=4, neg_per_class=2, sgld_steps=3)
    model, history, pool, stats = train_icn(data, cfg, CPU, seed=0)
    assert pool.x.shape == (40, 3, 32, 32) and 0 <= pool.x.min() and pool.x.max() <= 1
    assert all(math.isfinite(h["loss"]) for h in history) and "test_err" in history[-1]
    assert stats[0]["score_synth"] > stats[0]["score_noise"]


def test_diverging_learning_rate_stops_instead_of_reporting_an_error_rate():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(64) % 10
    x = (torch.rand(64, 1, 28, 28, generator=g) * 255).to(torch.uint8)
    data = ImageData("mnist", "toy", x, y, x[:32], y[:32], [str(i) for i in range(10)])
    cfg = ICNConfig(width=8, rounds=2, batch_size=16, neg_batch=8, lr=1e4, lr_decay=False, epochs_per_round=4,
                    neg_per_class=2, sgld_steps=2)
    with pytest.raises(FloatingPointError, match="lr=10000"):
        train_icn(data, cfg, torch.device("cpu"))


@pytest.mark.parametrize("n, n_ref", [(10, 1000), (1000, 10)])
def test_with_labels_below_one_batch_says_so(n, n_ref):
    with pytest.raises(ValueError, match="batch_size=64"):
        ICNConfig().with_labels(n, n_ref)


def test_a_resumed_run_keeps_its_learning_rate_schedule(tmp_path):
    """Round 2 retrained from round 1's checkpoint ends with the same weights as the uninterrupted
    run only if the cosine schedule resumes at the saved step (it is read from AdamW's state)."""
    data = _toy_digits()
    cfg = ICNConfig(width=8, rounds=2, epochs_per_round=2, batch_size=32, neg_batch=8, neg_per_class=5,
                    sgld_steps=3, lr=1e-2)
    whole = train_icn(data, cfg, CPU, seed=0, checkpoint=tmp_path / "run.pt", progress=False)[0]
    (tmp_path / "run_round2.pt").unlink()
    resumed = train_icn(data, cfg, CPU, seed=0, checkpoint=tmp_path / "run.pt", progress=False)[0]
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    constant = train_icn(data, replace(cfg, lr_decay=False), CPU, seed=0, progress=False)[0]
    assert not all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), constant.state_dict().values()))
