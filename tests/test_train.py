import json

import pytest
import torch
import torch.nn.functional as F

from rep_utils.data import ImageData
from rep_utils.supervised import SupervisedConfig, train_supervised
from rep_utils.train import Amp, RunRecord, fit, save_checkpoint

CPU = torch.device("cpu")


def _toy_data(n=96):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = (torch.rand(n, 1, 12, 12, generator=g) * 120 + 60 * y[:, None, None, None]).to(torch.uint8)
    return ImageData("mnist", "toy", x, y, x[:32], y[:32], ["a", "b"])


def _run(checkpoint=None, interrupt_at=None, lr=0.01):
    """A small regression trained with ``fit``; optionally interrupted at a given step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    t = x.sum(1, keepdim=True).sin()
    calls = {"n": 0}

    def step(idx, g):
        calls["n"] += 1
        if calls["n"] == interrupt_at:
            raise KeyboardInterrupt  # a Colab disconnect in the middle of an epoch
        noisy = x[idx] + 0.1 * torch.randn(x[idx].shape, generator=g)  # consumes the epoch's generator
        loss = F.mse_loss(model(noisy), t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss}

    history = fit({"model": model, "opt": opt}, step, 64, 5, 16, seed=3, device=CPU, checkpoint=checkpoint,
                  meta={"lr": lr})
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
    assert "another configuration" in capsys.readouterr().out
    assert len(hist) == 5 and hist == _run(lr=0.02)[1]


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"a": 1})

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(path, {"a": 2})
    monkeypatch.undo()
    assert torch.load(path) == {"a": 1}  # the old checkpoint survives a failed write


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
    assert "test_acc" in capsys.readouterr().out
