"""The shared figures draw what they are given: one line per run and panel, one grid per row."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from rep_utils.plots import plot_runs, plot_sweep, show_rows  # noqa: E402


def test_plot_runs_draws_every_run_and_skips_rows_without_the_key():
    h = [{"epoch": 0, "acc": 0.1}, {"epoch": 1, "acc": 0.5, "loss": 2.0}, {"epoch": 2, "acc": 0.7, "loss": 1.0}]
    fig = plot_runs({"A": [h, h], "B": [h]}, {"acc": "accuracy", "loss": "loss"}, colours={"A": "C3", "B": "C0"},
                    title="two methods")
    acc, loss = fig.axes[:2]
    assert [len(line.get_xdata()) for line in acc.lines] == [3, 3, 3]
    assert [list(line.get_xdata()) for line in loss.lines] == [[1, 2]] * 3  # epoch 0 has no loss
    assert [t.get_text() for t in acc.get_legend().get_texts()] == ["A", "B"]
    assert acc.lines[2].get_color() == "C0" and acc.get_title() == "accuracy" and loss.get_title() == "loss"
    assert fig.get_suptitle() == "two methods" and fig.get_figwidth() == 7.5
    plt.close(fig)
    one = plot_runs({"A": [h]}, {"acc": "accuracy"})
    assert one.get_figwidth() < 7.5  # a single panel at the full width would shrink its text on a phone
    plt.close(one)


def test_plot_runs_against_a_key_draws_each_runs_path_from_an_open_first_point():
    h = [{"epoch": 0, "rank": 5.0, "probe": 0.2}, {"epoch": 1, "rank": 9.0, "probe": 0.4, "loss": 1.0}]
    fig = plot_runs({"A": [h], "B": [h, h]}, {"rank": "RankMe", "loss": "loss"}, against=("probe", "probe (acc.)"))
    rank, loss = fig.axes[:2]
    path, start = rank.lines[:2]
    assert list(path.get_xdata()) == [5.0, 9.0] and list(path.get_ydata()) == [0.2, 0.4]
    assert list(start.get_xdata()) == [5.0] and start.get_markerfacecolor() == "white"
    assert len(rank.lines) == 6 and list(loss.lines[0].get_xdata()) == [1.0]  # epoch 0 has no loss
    assert rank.get_xlabel() == "RankMe" and rank.get_ylabel() == "probe (acc.)" and loss.get_ylabel() == ""
    plt.close(fig)


def test_show_rows_gives_one_titled_grid_per_row():
    fig = show_rows({"first": torch.zeros(4, 1, 8, 8), "second": torch.ones(4, 1, 8, 8)}, nrow=4)
    assert [ax.get_title() for ax in fig.axes] == ["first", "second"] and len(fig.axes[1].images) == 1
    plt.close(fig)


def test_plot_sweep_joins_each_arms_mean_and_sample_std_and_shows_every_run():
    fig, ax = plt.subplots()
    plot_sweep({"a": {10: [1.0, 3.0], 100: [2.0, 2.0, 5.0]}, "b": {10: [0.0, 0.0]}}, "size", "error", ax=ax)
    line = ax.containers[0]  # arm a's errorbar
    assert np.allclose(line.lines[0].get_ydata(), [2.0, 3.0])
    assert np.allclose(line.lines[0].get_xdata(), [10 * 0.985, 100 * 0.985])  # shifted left of arm b
    bars = line.lines[2][0].get_segments()  # the std bars: sample std (ddof=1), sqrt(2) and sqrt(3)
    assert np.allclose([seg[1, 1] - seg[0, 1] for seg in bars], [2 * np.sqrt(2), 2 * np.sqrt(3)])
    dots = [len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]
    assert dots == [2, 3, 2]  # one dot per run
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (mean ± std)", "b (mean ± std)"]
    assert list(ax.get_xticks()) == [10, 100]  # the sizes of every arm (b has only 10)
    plt.close(fig)
