import math

import numpy as np
import pytest
import torch
from sklearn.metrics import silhouette_score
from torch import nn

from rep_utils.data import ImageData
from rep_utils.evaluate import extract_features
from rep_utils.monitor import Monitor, alpha_req, gaussian_entropy, label_free_metrics, logdet_bias, rankme


def _blobs(n=300, k=3, d=5, spread=20.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    return torch.randn(k, d, generator=g)[y] * spread + torch.randn(n, d, generator=g), y


def test_silhouette_by_hand():
    """Points 0, 1 | 10, 11: a(i) = 1 and b(i) = 10.5 or 9.5, so s = 1 - a/b per point."""
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    by_hand = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])
    assert silhouette_score(x, [0, 0, 1, 1]) == pytest.approx(by_hand)
    m = label_free_metrics(torch.tensor(x), k=2, labels=torch.tensor([0, 0, 1, 1]))
    assert m["silhouette"] == pytest.approx(by_hand)
    assert m["ami_seeds"] == pytest.approx(1.0) and m["ami_labels"] == pytest.approx(1.0)


def test_separated_clusters_agree_and_noise_does_not():
    z, y = _blobs()
    m = label_free_metrics(z, k=3, labels=y)
    assert m["ami_seeds"] == pytest.approx(1.0) and m["ami_labels"] == pytest.approx(1.0)
    assert m["silhouette"] > 0.8
    noise = label_free_metrics(torch.rand(300, 5, generator=torch.Generator().manual_seed(1)), k=3, labels=y)
    assert abs(noise["ami_labels"]) < 0.05 and noise["silhouette"] < 0.5
    assert "ami_labels" not in label_free_metrics(z, k=3)  # labels only when given


def test_gaussian_entropy_matches_the_closed_form():
    cov = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.5]])
    dist = torch.distributions.MultivariateNormal(torch.tensor([1.0, -2.0, 0.5]), cov)
    z = dist.sample((50_000,))
    exact = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * cov.double().numpy()))
    assert exact == pytest.approx(dist.entropy().item(), abs=1e-5)
    assert gaussian_entropy(z) == pytest.approx(exact, abs=0.03)


def test_the_bias_correction_removes_the_logdet_bias_of_few_samples():
    """64 dimensions, 200 draws: the plug-in entropy is ~6 nats low (to leading order d^2 / 4n),
    the corrected one is right on average over 200 independent draws (a Monte Carlo check of the
    closed form)."""
    d, n, g = 64, 200, torch.Generator().manual_seed(0)
    exact = 0.5 * d * math.log(2 * math.pi * math.e)  # identity covariance
    draws = [torch.randn(n, d, generator=g) for _ in range(200)]
    plug_in = np.mean([gaussian_entropy(z, ridge=0, unbiased=False) for z in draws])
    corrected = np.mean([gaussian_entropy(z, ridge=0) for z in draws])
    assert plug_in - exact == pytest.approx(logdet_bias(n, d) / 2, abs=0.15)
    assert plug_in - exact == pytest.approx(-d * d / (4 * n), rel=0.25)
    assert corrected == pytest.approx(exact, abs=0.15)
    with pytest.raises(ValueError, match="at least 65 images"):
        logdet_bias(64, 64)


def test_rankme_counts_the_dimensions_in_use():
    g = torch.Generator().manual_seed(0)
    iso = torch.randn(20_000, 32, generator=g)
    assert rankme(iso) == pytest.approx(32, rel=0.02)
    rank5 = torch.randn(20_000, 5, generator=g) @ torch.linalg.qr(torch.randn(32, 32, generator=g))[0][:5]
    assert rankme(rank5) == pytest.approx(5, rel=0.02)
    assert rankme(torch.ones(100, 32) * 3) == pytest.approx(1, abs=1e-3)  # complete collapse
    s = torch.tensor([4.0, 2.0, 1.0, 1.0])  # by hand: the singular values' entropy
    p = s / s.sum()
    assert rankme(torch.diag(s)) == pytest.approx(math.exp(-(p * p.log()).sum().item()), rel=1e-5)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_alpha_req_recovers_a_known_power_law(alpha):
    """Data whose covariance eigenvalues are exactly i^-alpha in a random basis."""
    d = 64
    q = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(1)))[0].double()
    lam = torch.arange(1, d + 1, dtype=torch.float64) ** -alpha
    z = torch.randn(50_000, d, generator=torch.Generator().manual_seed(2)).double() * lam.sqrt() @ q.T
    assert alpha_req(z) == pytest.approx(alpha, abs=0.03)


def test_entropy_falls_when_embeddings_collapse_onto_fewer_dimensions():
    z = torch.randn(2000, 8)
    flat = z.clone()
    flat[:, 4:] = 0.01 * flat[:, 4:]
    assert gaussian_entropy(flat) < gaussian_entropy(z) - 4 * math.log(50)


def test_monitor_records_label_free_metrics_apart_from_the_label_using_ones():
    """An 'encoder' that reads out the class: clusters match the labels, the probe is exact."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    x = (40 + 80 * y[:, None, None, None] + torch.randint(0, 5, (120, 1, 4, 4), generator=g)).to(torch.uint8)
    data = ImageData("mnist", "toy", x[:90], y[:90], x[90:], y[90:], ["a", "b", "c"])
    encoder = nn.Flatten()
    mon = Monitor(data, torch.device("cpu"))
    first = mon(encoder, -1)
    assert mon.k == 3 and [h["epoch"] for h in mon.history] == [0]
    assert set(first) == {"silhouette", "ami_seeds", "entropy", "rankme", "alpha_req", "ami_labels", "linear_probe"}
    assert first["ami_labels"] == pytest.approx(1.0) and first["linear_probe"] == 1.0
    z = extract_features(encoder, data.x_test, *data.mean_std, torch.device("cpu"))
    assert first["silhouette"] == pytest.approx(label_free_metrics(z, 3)["silhouette"])
    blind = Monitor(data, torch.device("cpu"), k=2, probe=False)
    assert set(blind(encoder, 0)) == {"silhouette", "ami_seeds", "entropy", "rankme", "alpha_req"}
    assert blind.history[0]["epoch"] == 1


def test_correlations_per_seed_and_pooled_match_scipy():
    from scipy.stats import spearmanr

    from rep_utils.monitor import correlations

    rng = np.random.default_rng(0)
    hist = {s: [{"m": float(v), "linear_probe": float(v + rng.normal(0, 0.5))} for v in rng.normal(size=6)]
            for s in (0, 1)}
    (row,) = correlations({"A": hist}, ["m"], skip=2)
    for s, h in hist.items():
        assert row["per_seed"][s] == pytest.approx(spearmanr([r["m"] for r in h], [r["linear_probe"] for r in h])[0])
    pooled = [r for h in hist.values() for r in h]
    late = [r for h in hist.values() for r in h[2:]]
    assert row["pooled"] == pytest.approx(spearmanr([r["m"] for r in pooled], [r["linear_probe"] for r in pooled])[0])
    assert row["pooled_late"] == pytest.approx(spearmanr([r["m"] for r in late], [r["linear_probe"] for r in late])[0])
    const = {0: [{"m": 1.0, "linear_probe": float(i)} for i in range(4)]}
    assert math.isnan(correlations({"A": const}, ["m"])[0]["pooled"])  # a constant metric: no correlation
