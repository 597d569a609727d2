import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rep_utils import data
from rep_utils.data import ImageData


def _fake_subset(folder, name="mnist", file=None, n=20):
    """A small fake offline file, registered with its own sha256 (for this test only)."""
    rng = np.random.default_rng(0)
    path = folder / (file or f"{name}_subset.npz")
    with open(path, "wb") as f:
        np.savez(f, x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), y_train=np.arange(n) % 10,
                 x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10))
    data.SHA256[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No internet, no torchvision cache, no REP_PROFILE; the hash table restored afterwards."""
    monkeypatch.setattr(data, "has_internet", lambda host, timeout=3.0: False)
    monkeypatch.setattr(data, "DOWNLOAD_DIR", tmp_path / "cache")
    monkeypatch.setattr(data, "SHA256", dict(data.SHA256))
    monkeypatch.delenv("REP_DATA_DIR", raising=False)
    monkeypatch.delenv("REP_PROFILE", raising=False)
    return tmp_path


def test_rep_data_dir_is_used_and_reported(offline, monkeypatch, capsys):
    _fake_subset(offline)
    monkeypatch.setenv("REP_DATA_DIR", str(offline))
    d = data.load_images("mnist")
    assert d.x_train.shape == (20, 1, 28, 28) and d.x_train.dtype == torch.uint8
    assert d.y_test.tolist() == list(range(10))
    out = capsys.readouterr().out
    assert "offline reduced subset mnist_subset.npz from REP_DATA_DIR" in out and "20 train / 10 test" in out
    assert str(offline) not in out  # no machine path in the committed outputs


def test_rep_data_dir_without_the_file_says_what_to_do(offline, monkeypatch):
    monkeypatch.setenv("REP_DATA_DIR", str(offline))
    with pytest.raises(FileNotFoundError, match="REP_DATA_DIR"):
        data.load_images("cifar10")


def test_offline_with_no_data_says_how_to_fix_it(offline, monkeypatch):
    monkeypatch.setattr(data, "offline_candidates", lambda: [offline / "nowhere"])
    with pytest.raises(FileNotFoundError) as err:
        data.load_images("mnist")
    assert "no internet" in str(err.value) and "REP_DATA_DIR" in str(err.value)


def test_offline_falls_back_to_the_shared_subset(offline, monkeypatch):
    _fake_subset(offline)
    monkeypatch.setattr(data, "offline_candidates", lambda: [offline / "nowhere", offline])
    assert len(data.load_images("mnist", verbose=False).y_train) == 20


def test_failed_download_falls_back_to_the_offline_copy(offline, monkeypatch, capsys):
    """Network up but the download fails (torchvision's RuntimeError, or an unwritable
    REP_DOWNLOAD_DIR): the offline copy is used and the message says so."""
    _fake_subset(offline)
    monkeypatch.setattr(data, "offline_candidates", lambda: [offline])
    monkeypatch.setattr(data, "has_internet", lambda host, timeout=3.0: True)
    (offline / "a_file").write_text("")
    monkeypatch.setattr(data, "DOWNLOAD_DIR", offline / "a_file" / "data")  # NotADirectoryError
    assert len(data.load_images("mnist", "ci").y_train) == 20
    assert "failed (NotADirectoryError" in capsys.readouterr().out
    monkeypatch.setattr(data, "_from_torchvision", lambda name, download: (_ for _ in ()).throw(
        RuntimeError("Error downloading train-images-idx3-ubyte.gz")))
    data.load_images("mnist", "ci")
    assert "Downloading mnist failed (RuntimeError: Error downloading" in capsys.readouterr().out


def test_failed_download_without_offline_data_names_the_variables(offline, monkeypatch):
    monkeypatch.setattr(data, "offline_candidates", lambda: [offline / "nowhere"])
    monkeypatch.setattr(data, "has_internet", lambda host, timeout=3.0: True)
    (offline / "a_file").write_text("")
    monkeypatch.setattr(data, "DOWNLOAD_DIR", offline / "a_file" / "data")
    with pytest.raises(FileNotFoundError) as err:
        data.load_images("cifar10", "ci")
    msg = str(err.value)
    assert "downloading it failed" in msg and "REP_DOWNLOAD_DIR" in msg and "REP_DATA_DIR" in msg


def test_full_size_profiles_prefer_the_full_copy(offline, monkeypatch, capsys):
    _fake_subset(offline, n=20)
    _fake_subset(offline, file="mnist_full.npz", n=30)
    monkeypatch.setenv("REP_DATA_DIR", str(offline))
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: True)
    assert len(data.load_images("mnist", "ci").y_train) == 20
    assert len(data.load_images("mnist", "colab").y_train) == 30
    assert "full-size copy mnist_full.npz" in capsys.readouterr().out
    (offline / "mnist_full.npz").unlink()
    assert len(data.load_images("mnist", "full").y_train) == 20  # falls back, and says so
    assert "no mnist_full.npz in REP_DATA_DIR" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_file_is_named_with_what_is_wrong(offline, monkeypatch, damage):
    path = _fake_subset(offline)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else raw[:-1] + bytes([raw[-1] ^ 1]))
    monkeypatch.setenv("REP_DATA_DIR", str(offline))
    with pytest.raises(OSError) as err:
        data.load_images("mnist", "ci")
    msg = str(err.value)
    assert "mnist_subset.npz in REP_DATA_DIR" in msg and "Copy it again" in msg
    assert ("truncated" in msg) == (damage == "truncate")


def test_hash_is_checked_once_per_file(offline, monkeypatch):
    _fake_subset(offline)
    monkeypatch.setenv("REP_DATA_DIR", str(offline))
    data.load_images("mnist", "ci", verbose=False)
    monkeypatch.setattr(data.hashlib, "sha256", None)  # a second hash would fail
    data.load_images("mnist", "ci", verbose=False)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="cifar10"):
        data.load_images("imagenet")


def test_real_shared_subsets_match_their_readme(offline):
    """The subsets beside the repository: sizes and first labels from shared/data/README.md."""
    m = data.load_images("mnist", verbose=False)
    assert (len(m.y_train), len(m.y_test)) == (17_435, 10_000) and m.x_train.shape[1:] == (1, 28, 28)
    c = data.load_images("cifar10", verbose=False)
    assert (len(c.y_train), len(c.y_test)) == (5_085, 1_017) and c.x_train.shape[1:] == (3, 32, 32)
    assert c.y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert c.y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert c.classes[0] == "airplane" and c.num_classes == 10


def test_subset_is_fixed_and_sized(offline):
    m = data.load_images("mnist", verbose=False)
    a, b = m.subset(100, 50), m.subset(100, 50)
    assert len(a.y_train) == 100 and len(a.y_test) == 50
    assert torch.equal(a.x_train, b.x_train) and len(set(a.y_train.tolist())) == 10


def test_real_full_size_copies(offline, monkeypatch):
    """mnist_full.npz (lossless, the subset's first 17,435 images) and the JPEG CIFAR-10 copy."""
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: True)
    sub, full = data.load_images("mnist", "ci", False), data.load_images("mnist", "colab", False)
    assert (len(full.y_train), len(full.y_test)) == (60_000, 10_000)
    assert torch.equal(full.x_train[:17_435], sub.x_train) and torch.equal(full.x_test, sub.x_test)
    c = data.load_images("cifar10", "full", False)
    assert (len(c.y_train), len(c.y_test)) == (50_000, 10_000) and c.x_train.shape[1:] == (3, 32, 32)
    assert c.x_train.dtype == torch.uint8 and "CIFAR-10 (JPEG re-encoded copy)" in c.describe()
    assert torch.bincount(c.y_train).tolist() == [5000] * 10


def test_subset_draws_other_training_images_and_keeps_the_test_images():
    x = torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1)
    d = data.ImageData("toy", "test", x, torch.arange(50), x[:20], torch.arange(20), [str(i) for i in range(10)])
    a, same, b = d.subset(10, 5), d.subset(10, 5, draw=0), d.subset(10, 5, draw=1)
    assert torch.equal(a.y_train, same.y_train) and not torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.y_test, b.y_test) and len(b.y_train) == 10 and len(set(b.y_train.tolist())) == 10


def test_normalize_uint8_and_its_inverse():
    x = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    torch.testing.assert_close(data.normalize(x, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)), torch.full((2, 3, 4, 4), 2.0))
    mean, std = data.STATS["cifar10"]
    y = torch.rand(2, 3, 4, 4)
    z = data.normalize(y, mean, std)
    assert torch.allclose(z[:, 1], (y[:, 1] - mean[1]) / std[1])
    torch.testing.assert_close(data.denormalize(z, mean, std), y)


def test_resized_keeps_labels_and_matches_interpolate(toy_images):
    small = toy_images.resized(4)
    assert small.x_train.shape == (96, 1, 4, 4) and small.x_train.dtype == torch.uint8
    assert torch.equal(small.y_train, toy_images.y_train) and toy_images.resized(8) is toy_images
    flat = ImageData("mnist", "toy", torch.full((3, 1, 8, 8), 77, dtype=torch.uint8), torch.arange(3),
                     torch.full((2, 1, 8, 8), 200, dtype=torch.uint8), torch.arange(2), list("abc"))
    assert (flat.resized(3).x_train == 77).all() and (flat.resized(3).x_test == 200).all()


def test_for_config_subsets_once_and_resizes(toy_images):
    cfg = SimpleNamespace(n_train=64, n_test=16, image_size=4)
    once = toy_images.for_config(cfg)
    expected = toy_images.subset(64, 16).resized(4)
    assert torch.equal(once.x_train, expected.x_train) and torch.equal(once.y_test, expected.y_test)
    assert torch.equal(once.for_config(cfg).x_train, once.x_train)  # already that size: left as it is
    assert toy_images.for_config(SimpleNamespace(n_train=None, n_test=None, image_size=8)) is toy_images


def test_for_config_takes_the_configs_draw(toy_images):
    drawn = toy_images.for_config(SimpleNamespace(n_train=64, n_test=16, draw=2))
    expected = toy_images.subset(64, 16, draw=2)
    assert torch.equal(drawn.x_train, expected.x_train) and torch.equal(drawn.x_test, expected.x_test)
    assert not torch.equal(drawn.x_train, toy_images.subset(64, 16).x_train)
