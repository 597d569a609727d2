import numpy as np
import pytest
import torch

from rep_utils import data


def _fake_subset(folder, name="mnist"):
    rng = np.random.default_rng(0)
    np.savez(folder / f"{name}_subset.npz",
             x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_train=np.arange(20) % 10,
             x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10))


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No internet, no torchvision cache."""
    monkeypatch.setattr(data, "has_internet", lambda host, timeout=3.0: False)
    monkeypatch.setattr(data, "DOWNLOAD_DIR", tmp_path / "cache")
    monkeypatch.delenv("REP_DATA_DIR", raising=False)
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


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_toy_sets_are_standardised_and_balanced(name):
    x, y = data.toy_2d(name, n=1000, seed=1)
    assert x.shape == (1000, 2) and torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
    assert y.float().mean().item() == 0.5
