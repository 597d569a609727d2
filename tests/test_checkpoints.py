"""Checkpoints written atomically, and where they can be lost (the resume logic is tested through
``fit`` in test_train.py)."""
import pytest
import torch

from rep_utils.checkpoints import check_writable, save_checkpoint


def test_colab_warns_when_checkpoints_are_not_on_drive(tmp_path, monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "test")
    with pytest.warns(UserWarning, match="not on a mounted Google Drive"):
        check_writable(tmp_path)


def test_concurrent_saves_to_one_path_never_collide(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "ck.pt"
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: save_checkpoint(path, {"i": i, "x": torch.zeros(10_000)}), range(40)))
    assert torch.load(path)["i"] in range(40) and not list(tmp_path.glob("*.tmp"))


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
