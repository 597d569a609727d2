"""The shared figures draw what they are given: one line per run and panel, one grid per row."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from rep_utils.plots import plot_runs, show_rows  # noqa: E402


def test_plot_runs_draws_every_run_and_skips_rows_without_the_key():
    h = [{"epoch": 0, "acc": 0.1}, {"epoch": 1, "acc": 0.5, "loss": 2.0}, {"epoch": 2, "acc": 0.7, "loss": 1.0}]
    fig = plot_runs({"A": [h, h], "B": [h]}, {"acc": "accuracy", "loss": "loss"}, colours={"A": "C3", "B": "C0"},
                    title="two methods")
    acc, loss = fig.axes[:2]
    assert [len(line.get_xdata()) for line in acc.lines] == [3, 3, 3]
    assert [list(line.get_xdata()) for line in loss.lines] == [[1, 2]] * 3  # epoch 0 has no loss
    assert [t.get_text() for t in acc.get_legend().get_texts()] == ["A", "B"]
    assert acc.lines[2].get_color() == "C0" and acc.get_title() == "accuracy" and loss.get_title() == "loss"
    assert fig.get_suptitle() == "two methods"
    plt.close(fig)


def test_show_rows_gives_one_titled_grid_per_row():
    fig = show_rows({"first": torch.zeros(4, 1, 8, 8), "second": torch.ones(4, 1, 8, 8)}, nrow=4)
    assert [ax.get_title() for ax in fig.axes] == ["first", "second"] and len(fig.axes[1].images) == 1
    plt.close(fig)
