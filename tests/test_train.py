import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rep_utils.data import ImageData
from rep_utils.supervised import SupervisedConfig, train_supervised
from rep_utils.train import Amp, RunRecord, fit

CPU = torch.device("cpu")


def _toy_data(n=96):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = (torch.rand(n, 1, 12, 12, generator=g) * 120 + 60 * y[:, None, None, None]).to(torch.uint8)
    return ImageData("mnist", "toy", x, y, x[:32], y[:32], ["a", "b"])


def _run(checkpoint=None, interrupt_at=None, lr=0.01, epochs=5):
    """A small regression trained with ``fit``; optionally interrupted at a given step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    t = x.sum(1, keepdim=True).sin()
    calls = {"n": 0}

    def step(idx, g, k):
        calls["n"] += 1
        if calls["n"] == interrupt_at:
            raise KeyboardInterrupt  # a Colab disconnect in the middle of an epoch
        noisy = x[idx] + 0.1 * torch.randn(x[idx].shape, generator=g)  # consumes the epoch's generator
        loss = F.mse_loss(model(noisy), t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss}

    history = fit({"model": model, "opt": opt}, step, n=64, epochs=epochs, batch_size=16, seed=3, device=CPU,
                  checkpoint=checkpoint, meta={"lr": lr, "epochs": epochs})
    return model, history


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    ref, ref_hist = _run()
    ck = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        _run(ck, interrupt_at=11)  # during epoch 3 (4 steps per epoch): epochs 1-2 are saved
    assert torch.load(ck, weights_only=False)["epoch"] == 1
    resumed, hist = _run(ck)
    for a, b in zip(ref.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert [h["loss"] for h in hist] == [h["loss"] for h in ref_hist]
    assert ref_hist[-1]["loss"] < ref_hist[0]["loss"]


def test_checkpoint_of_another_config_is_not_resumed(tmp_path, capsys):
    ck = tmp_path / "ck.pt"
    _run(ck, lr=0.01)
    _, hist = _run(ck, lr=0.02)
    out = capsys.readouterr().out
    assert "another configuration (lr: 0.01 in the checkpoint, 0.02 now)" in out and str(ck) in out
    assert len(hist) == 5 and hist == _run(lr=0.02)[1]
    assert len(list(tmp_path.glob("ck.pt.*.other-config"))) == 1  # the finished run is kept aside


def test_more_epochs_says_how_to_keep_the_finished_run(tmp_path, capsys):
    ck = tmp_path / "ck.pt"
    _run(ck, epochs=2)
    _, hist = _run(ck, epochs=3)
    out = capsys.readouterr().out
    assert "epochs: 2 in the checkpoint, 3 now" in out and "learning-rate schedule" in out
    assert "rename" in out and len(hist) == 3


@pytest.mark.parametrize("content", [b"", b"garbage", None])
def test_unreadable_checkpoint_is_moved_aside(tmp_path, content):
    ck = tmp_path / "ck.pt"
    if content is None:  # a truncated real checkpoint
        _run(ck)
        ck.write_bytes(ck.read_bytes()[:200])
    else:
        ck.write_bytes(content)
    with pytest.warns(UserWarning, match="unreadable"):
        _, hist = _run(ck)
    assert hist == _run()[1] and len(list(tmp_path.glob("ck.pt.*.unreadable"))) == 1


def test_unwritable_checkpoint_folder_fails_before_training(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(PermissionError, match="REP_CHECKPOINT_DIR"):
        _run(tmp_path / "a_file" / "ck.pt", interrupt_at=1)  # interrupt_at: no step may run


@pytest.mark.parametrize("epochs", [0, -1, 2.0])
def test_epochs_must_be_a_positive_integer(epochs):
    with pytest.raises(ValueError, match="epochs"):
        _run(epochs=epochs)


def test_diverging_loss_stops_with_the_knob_named():
    with pytest.raises(FloatingPointError, match="lr=1e"):
        _run(lr=1e30)


def test_non_finite_weights_stop_training():
    model = torch.nn.Linear(2, 1)

    def step(idx, g, k):
        with torch.no_grad():
            model.weight.fill_(float("nan"))
        return {"loss": torch.tensor(1.0)}

    with pytest.raises(FloatingPointError, match="weights of model"):
        fit({"model": model}, step, n=8, epochs=1, batch_size=4, seed=0, device=CPU, meta={"lr": 0.1})


def test_same_seed_same_numbers_and_supervised_learns():
    data = _toy_data()
    cfg = SupervisedConfig(epochs=3, batch_size=16, lr=3e-3)
    m1, h1 = train_supervised(data, cfg, CPU, seed=5)
    m2, h2 = train_supervised(data, cfg, CPU, seed=5)
    assert h1 == h2
    assert h1[-1]["test_acc"] > 0.9


def test_amp_is_a_no_op_on_cpu():
    amp = Amp(CPU)
    assert amp.dtype is None and not amp.scaler.is_enabled()


def test_run_record_prints_and_saves(tmp_path, capsys):
    data = _toy_data()
    rec = RunRecord.start("demo", "ci", 7, CPU, data, epochs=2).finish(test_acc=0.5)
    rec.show(tmp_path)
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["profile"] == "ci" and saved["seed"] == 7 and saved["n_train"] == 96
    assert saved["device"].startswith("cpu") and saved["results"] == {"test_acc": 0.5}
    assert {"torch", "torchvision", "rep_utils"} <= set(saved["versions"])
    assert saved["wall_time_s"] >= 0 and "_t0" not in saved
    rec.finish(err=np.array([0.123456, 1.0]), mean=np.float64(1 / 3), per_n={100: (torch.tensor(0.5), 2)})
    assert {k: rec.results[k] for k in ("err", "mean", "per_n")} == {"err": [0.1235, 1.0], "mean": 0.3333,
                                                                      "per_n": {100: [0.5, 2]}}
    out = capsys.readouterr().out
    assert "test_acc" in out and all(len(line) <= 88 for line in out.splitlines())
    assert "\n  profile " in out and "\n  device " in out  # the lines book/_ext/course.py parses
