"""The reporting helpers against NumPy / SciPy computed independently."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scipy import stats

from rep_utils import report


def test_mean_std_is_the_sample_std():
    x = [0.1, 0.4, 0.35, 0.2]
    m, s = report.mean_std(x)
    assert m == pytest.approx(np.mean(x)) and s == pytest.approx(np.std(x, ddof=1))
    assert report.mean_std([2.0]) == (2.0, 0.0)
    assert report.pm([0.1, 0.3], ".1f", scale=100) == f"20.0 ± {np.std([10, 30], ddof=1):.1f}"
    assert report.pm([0.25], ".1f", scale=100) == "25.0"  # one seed: no spread to show
    assert report.pm([-0.5, -0.3], "+.1f") == f"-0.4 ± {np.std([-0.5, -0.3], ddof=1):.1f}"


def test_span_names_the_lowest_and_the_highest():
    assert report.span({"a": 0.5, "b": -0.25, "c": 2.0}, "+.2f") == "-0.25 (b) to +2.00 (c)"


def test_paired_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 7), rng.normal(0.5, 1, 7)
    got = report.paired(a, b)
    ref = stats.ttest_rel(a, b)
    assert got["t"] == pytest.approx(ref.statistic) and got["p"] == pytest.approx(ref.pvalue)
    assert got["diff"] == pytest.approx((a - b).mean())
    assert got["se"] == pytest.approx(stats.sem(a - b))
    assert got["wins"] == int((a > b).sum()) and got["n"] == 7
    with pytest.raises(ValueError, match="two seeds"):
        report.paired([1.0], [0.0])


def test_compare_is_the_paired_test_of_new_minus_base_with_both_arms():
    base, new = np.array([0.08, 0.07, 0.09, 0.06]), np.array([0.05, 0.08, 0.06, 0.04])
    got = report.compare(base, new, scale=100, lower_is_better=True)
    ref = stats.ttest_rel(100 * new, 100 * base)
    assert got["diff"] == pytest.approx(100 * (new - base).mean()) and got["t"] == pytest.approx(ref.statistic)
    assert got["p"] == pytest.approx(ref.pvalue) and got["se"] == pytest.approx(stats.sem(100 * (new - base)))
    assert got["base"] == pytest.approx(100 * base.mean()) and got["new_sd"] == pytest.approx(100 * new.std(ddof=1))
    assert (got["wins"], got["n"]) == (3, 4)  # new is lower in three pairs
    assert report.compare(base, new)["wins"] == 1  # higher is better by default


def test_compare_arms_prints_each_arm_and_the_paired_difference_it_returns(capsys):
    err = {"baseline": [0.08, 0.07, 0.09], "ICN": [0.05, 0.08, 0.06]}
    got = report.compare_arms(err, "baseline", "ICN", "test error (%)", scale=100, lower_is_better=True)
    assert got == report.compare(err["baseline"], err["ICN"], scale=100, lower_is_better=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "baseline: test error (%) 8.00 ± 1.00  (per seed: 8.00, 7.00, 9.00)"
    assert lines[1].startswith("ICN: test error (%) 6.33 ± 1.53  (per seed: 5.00, 8.00, 6.00)")
    assert lines[2] == (f"paired difference ICN - baseline: {got['diff']:+.2f} ± {got['se']:.2f} (mean ± s.e. over 3), "
                        f"t = {got['t']:.2f}, p = {got['p']:.3f}") and got["diff"] == pytest.approx(-5 / 3)


def test_accuracy_gap_se_matches_simulated_binomials():
    """Two independent classifiers with accuracies 0.45 and 0.40 on 1,000 images: the spread of
    their simulated gap is the formula's."""
    rng = np.random.default_rng(0)
    gaps = rng.binomial(1000, 0.45, 20_000) / 1000 - rng.binomial(1000, 0.40, 20_000) / 1000
    assert report.accuracy_gap_se(0.45, 0.40, 1000) == pytest.approx(gaps.std(), rel=0.02)


def test_table_renders_a_markdown_table():
    md = report.table([{"method": "BYOL", "acc": 0.91234, "n": 3},
                       {"method": "$\\tau=0$", "acc": float("nan"), "n": 2}],
                      {"method": "method", "acc": "probe"}, fmt=".2f").data
    assert md.splitlines() == ["| method | probe |", "|---|---|", "| BYOL | 0.91 |",
                               "| $\\tau=0$ | nan |"]
    with pytest.raises(ValueError):
        report.table([])


def test_glue_stores_plain_numbers_without_displaying(monkeypatch):
    """A glued NumPy or torch scalar must format in the prose, and nothing is shown on the page."""
    stored = []
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display=True: stored.append((name, value, display)))
    report.glue({"a": np.float64(1.5)}, b=torch.tensor(2))
    report.glue("c", np.int64(3))
    report.glue({"t": 2.0}, prefix="main")
    assert stored == [("a", 1.5, False), ("b", 2, False), ("c", 3, False), ("main_t", 2.0, False)]
    assert [type(v) for _, v, _ in stored] == [float, int, int, float]


@dataclass
class Cfg:
    backbone: str = "resnet18"
    hidden_dim: int = 4096
    blur_p: tuple = (1.0, 0.1)
    note: str = "x" * 20


def test_wrap_keeps_lines_in_the_column():
    text = report.wrap(Cfg(), width=40)
    assert all(len(line) <= 40 for line in text.splitlines()) and len(text.splitlines()) > 1
    assert text.replace("\n    ", " ") == repr(Cfg())
