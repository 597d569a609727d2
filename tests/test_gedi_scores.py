import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from rep_utils import gedi_scores
from rep_utils.evaluate import cluster_scores
from rep_utils.gedi import GEDI, GEDIConfig, GEDIImageConfig, scale_pixels
from rep_utils.gedi_scores import (
    ToyRuns,
    cluster_rows,
    image_run,
    image_scores,
    ood_sets,
    show_run,
    toy_2d,
    toy_run,
    triad_diagnostics,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = replace(GEDIConfig(), hidden=16, n_train=200, iterations=4, batch_size=50, sgld_steps=3,
               buffer_size=100)
TINY_IMG = replace(GEDIImageConfig(), width=4, iterations=2, batch_size=8, sgld_steps=2, buffer_size=20)


class SquaredNorm(nn.Module):
    """The feature -|x|^2: with a projector of equal rows, E(x) = |x|^2 / tau - const, lowest at 0."""

    feature_dim = 1

    def forward(self, x):
        return -x.flatten(1).pow(2).sum(1, keepdim=True)


def constant_model(cfg, in_shape, bias):
    """A GEDI that ignores its input: the same logits ``bias / tau`` everywhere."""
    model = GEDI(cfg, in_shape)
    with torch.no_grad():
        model.projector.weight.zero_()
        model.projector.bias.copy_(torch.as_tensor(bias))
    return model


def test_triad_diagnostics_of_a_model_that_ignores_its_input():
    """Every point in cluster 0 (collapse), two views agree with chance sum_y p_y^2, and a constant
    energy cannot tell the data from noise (AUROC 0.5)."""
    x = torch.randn(100, 2)
    model = constant_model(TINY, (2,), [1.0, 0.0])
    d = triad_diagnostics(model, x, TINY, torch.Generator().manual_seed(0))
    p = torch.tensor([1.0, 0.0]).div(TINY.tau).softmax(0)
    assert d["largest_cluster"] == 1.0 and d["density_auroc"] == 0.5
    assert d["view_agreement"] == pytest.approx(p.pow(2).sum().item(), rel=1e-6)
    d = triad_diagnostics(constant_model(TINY, (2,), [0.0, 0.0]), x, TINY)
    assert d["view_agreement"] == pytest.approx(0.5)  # uniform posteriors: 1/c, labels free to permute


def test_triad_density_auroc_sees_where_the_data_lie():
    model = GEDI(TINY)
    model.encoder = SquaredNorm()
    model.projector = nn.Linear(1, TINY.n_clusters)
    with torch.no_grad():
        model.projector.weight.fill_(1.0)
        model.projector.bias.zero_()
    d = triad_diagnostics(model, 0.1 * torch.randn(500, 2), TINY, torch.Generator().manual_seed(0))
    assert d["density_auroc"] > 0.99  # data near 0, the noise uniform in [-3, 3]^2


def test_toy_run_is_reproducible_and_scores_its_test_points():
    r1, r2 = (toy_run("moons", TINY, seed=1) for _ in range(2))
    keys = ("nmi", "density_auroc", "largest_cluster", "view_agreement")
    assert all(r1[k] == r2[k] for k in keys) and torch.equal(r1["assigned"], r2["assigned"])
    assert all(0 <= r1[k] <= 1 for k in keys) and len(r1["assigned"]) == 1000
    assert len(r1["history"]) == 1 and all(math.isfinite(v) for v in r1["history"][0].values())
    assert r1["seconds"] > 0


def test_toy_runs_train_each_setting_once_and_apply_the_overrides():
    runs = ToyRuns(TINY)
    a = runs("moons", {"gen": False}, 1)
    assert runs("moons", {"gen": False}, 1) is a and len(runs) == 1  # kept, not trained again
    b = runs("moons", {}, 1)
    assert len(runs) == 2 and "gen" in b["history"][-1] and "gen" not in a["history"][-1]
    assert runs.summary().startswith("2 runs so far")


def test_cluster_rows_keeps_each_clusters_images_in_order_and_pads_with_blanks():
    x = torch.arange(5.0).view(5, 1, 1, 1)
    rows = cluster_rows(x, torch.tensor([1, 0, 1, 1, 1]), n_clusters=3, per=3)
    assert rows.flatten().tolist() == [1, 1, 1, 0, 2, 3, 1, 1, 1]  # cluster 0: x1; 1: x0, x2, x3; 2: none


@pytest.mark.parametrize("gen", [True, False])
def test_show_run_draws_the_log_density_on_the_grid_and_samples_only_with_the_generative_term(gen):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = toy_run("moons", replace(TINY, gen=gen), seed=0)
    _, ax = plt.subplots()
    show_run(ax, r, torch.zeros(1000, 2), box=2.0, title="t", n=5)
    g = torch.linspace(-2, 2, 5)
    grid = torch.tensor([[a, b] for b in g for a in g])  # x varies fastest along a row of the image
    with torch.no_grad():
        expected = -r["model"].energy(grid).reshape(5, 5)
    assert torch.allclose(torch.as_tensor(ax.images[0].get_array().data), expected, atol=1e-5)
    assert len(ax.collections) == (2 if gen else 1) and ax.get_title() == "t"
    plt.close("all")


def test_image_scores_of_a_constant_model_and_against_the_test_set_itself():
    g = torch.Generator().manual_seed(0)
    x = scale_pixels(torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8, generator=g))
    y = torch.arange(40) % 10
    cfg = replace(TINY_IMG, augment=None)
    r = image_scores(constant_model(cfg, (1, 28, 28), torch.arange(10.0)), x, y, cfg, {"itself": x})
    assert torch.equal(r["assigned"], torch.full((40,), 9))
    assert r["clusters_used"] == 1 and r["largest_cluster"] == 1.0 and r["nmi"] == pytest.approx(0.0, abs=1e-9)
    assert r["acc"] == pytest.approx(0.1) and r["auroc itself"] == 0.5  # equal energies: chance
    model = GEDI(cfg, (1, 28, 28))
    r = image_scores(model, x, y, cfg, {}, seed=3)
    shuffled = r["assigned"][torch.randperm(40, generator=torch.Generator().manual_seed(3))]
    assert r["chance_nmi"] == cluster_scores(shuffled, y, cfg.n_clusters)["nmi"]
    assert r["clusters_used"] <= cfg.n_clusters and not any(k.startswith("auroc ") for k in r)


def test_image_run_trains_scores_and_resumes_from_its_checkpoint(toy_images, tmp_path):
    cfg = replace(TINY_IMG, n_clusters=4, augment=None)
    run = image_run(toy_images, {"noise": torch.rand(16, 1, 8, 8) * 2 - 1}, torch.device("cpu"))
    r = run(cfg, 1, tmp_path / "c.pt")
    x_test = scale_pixels(toy_images.x_test)
    assert r["history"] and all(math.isfinite(v) for v in r["history"][-1].values())
    assert r["buffer"] is not None and len(r["assigned"]) == 32
    assert r["nmi"] == image_scores(r["model"], x_test, toy_images.y_test, cfg, {}, 1)["nmi"]
    assert (tmp_path / "c.pt").exists()
    again = run(cfg, 1, tmp_path / "c.pt")  # from the finished checkpoint: the same run and scores
    assert again["history"] == r["history"] and again["auroc noise"] == r["auroc noise"]


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_toy_sets_are_standardised_and_balanced(name):
    x, y = toy_2d(name, n=1000, seed=1)
    assert x.shape == (1000, 2) and torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
    assert y.float().mean().item() == 0.5


def test_ood_sets_match_the_other_set_in_shape_and_range():
    g = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8, generator=g)
    cifar = torch.full((5, 3, 32, 32), 255, dtype=torch.uint8)
    ood = ood_sets(digits, cifar)
    grey, rgb = ood["mnist"]["CIFAR-10, grey 28x28"], ood["cifar10"]["MNIST, 32x32 RGB"]
    # white stays white (luma weights)
    assert grey.shape == (5, 1, 28, 28) and torch.allclose(grey, torch.ones_like(grey), atol=1e-3)
    assert rgb.shape == (2000, 3, 32, 32) and (rgb[:, :, :2] == -1).all()  # a black border, as MNIST's
    assert torch.equal(rgb[:, 0, 2:30, 2:30], scale_pixels(digits[:2000])[:, 0]) and torch.equal(rgb[:, 0], rgb[:, 2])


def test_toy_config_is_the_profiles_and_keeps_the_warmup_share_at_another_length():
    assert gedi_scores.toy_config("ci") == GEDIConfig.for_profile("ci")
    c = gedi_scores.toy_config("ci", 1400)
    assert (c.iterations, c.warmup) == (1400, 2 * GEDIConfig.for_profile("ci").warmup)
