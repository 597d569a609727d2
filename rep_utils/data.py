"""Datasets as in-memory uint8 tensors (defined in the Setup chapter).

Where there is internet (Colab, a laptop) the full datasets come from torchvision and are cached.
Offline, the reduced real subsets ``mnist_subset.npz`` / ``cifar10_subset.npz`` are read from the
folder in ``REP_DATA_DIR`` (default: ``../shared/data`` beside the repository, when it exists).
Every load prints which data it uses and how many images.

Images stay uint8 ``[N, C, H, W]`` until a batch is on the device: a whole CIFAR-10 training set
is 150 MB, so it fits on any GPU and batches need no DataLoader workers.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# Per-channel statistics of the full training sets (for input normalisation).
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
_HOSTS = {"mnist": "ossci-datasets.s3.amazonaws.com", "cifar10": "www.cs.toronto.edu"}
DOWNLOAD_DIR = Path(os.environ.get("REP_DOWNLOAD_DIR", Path.home() / ".cache" / "rep_utils" / "data"))


@dataclass
class ImageData:
    """A labelled image dataset held as tensors: ``x_*`` uint8 [N, C, H, W], ``y_*`` int64 [N]."""

    name: str
    source: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return STATS[self.name]

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "ImageData":
        """The first ``n_train`` / ``n_test`` images of a fixed shuffle (the same for every seed)."""
        g = torch.Generator().manual_seed(0)
        tr = torch.randperm(len(self.y_train), generator=g)[:n_train]
        te = torch.randperm(len(self.y_test), generator=g)[:n_test]
        return ImageData(self.name, self.source, self.x_train[tr], self.y_train[tr],
                         self.x_test[te], self.y_test[te], self.classes)

    def resized(self, size: int) -> "ImageData":
        """The same images resized to ``size`` x ``size`` (bilinear with anti-aliasing, uint8),
        as the CPU profiles of the self-supervised chapters use; unchanged if already that size."""
        if self.x_train.shape[-1] == size:
            return self

        def resize(x):
            y = torch.nn.functional.interpolate(x.float(), size=size, mode="bilinear", antialias=True)
            return y.round().clamp(0, 255).to(torch.uint8)

        return ImageData(self.name, self.source, resize(self.x_train), self.y_train,
                         resize(self.x_test), self.y_test, self.classes)

    def describe(self) -> str:
        c, h, w = self.x_train.shape[1:]
        return (f"{self.name}: {len(self.y_train):,} train / {len(self.y_test):,} test images "
                f"of {c}x{h}x{w}, {self.num_classes} classes ({self.source})")


def offline_candidates() -> list[Path]:
    """Folders searched for the offline subsets when ``REP_DATA_DIR`` is unset."""
    repo = Path(__file__).resolve().parents[1]
    return [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
            Path.cwd().parent.parent / "shared" / "data"]


def has_internet(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_torchvision(name: str, download: bool) -> ImageData:
    import torchvision

    cls = {"mnist": torchvision.datasets.MNIST, "cifar10": torchvision.datasets.CIFAR10}[name]
    train, test = (cls(DOWNLOAD_DIR, train=t, download=download) for t in (True, False))

    def tensors(ds):
        x = torch.as_tensor(np.asarray(ds.data))
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)

    classes = [c.split(" - ")[-1] for c in train.classes]
    return ImageData(name, f"full torchvision {name}, cached in {DOWNLOAD_DIR}",
                     *tensors(train), *tensors(test), classes)


def _from_subset(name: str, folder: Path, where: str) -> ImageData:
    """``where`` names the folder in messages without the machine's absolute path."""
    z = np.load(folder / f"{name}_subset.npz")

    def chw(x):
        x = torch.as_tensor(x)
        return (x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)).contiguous()

    classes = [str(c) for c in z["classes"]] if "classes" in z else [str(i) for i in range(10)]
    return ImageData(name, f"offline reduced subset {name}_subset.npz from {where}",
                     chw(z["x_train"]), torch.as_tensor(z["y_train"]),
                     chw(z["x_test"]), torch.as_tensor(z["y_test"]), classes)


def load_images(name: str, verbose: bool = True) -> ImageData:
    """Load ``'mnist'`` or ``'cifar10'``: full data online (or cached), the reduced subset offline."""
    if name not in STATS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(STATS)}.")
    env = os.environ.get("REP_DATA_DIR")
    if env:
        folder = Path(env).expanduser()
        if not (folder / f"{name}_subset.npz").is_file():
            raise FileNotFoundError(
                f"REP_DATA_DIR={env} has no {name}_subset.npz. Point REP_DATA_DIR at the folder that "
                "holds the offline subsets (shared/data beside the repository), or unset it to download.")
        data = _from_subset(name, folder, "REP_DATA_DIR")
    else:
        try:
            data = _from_torchvision(name, download=False)  # already cached
        except RuntimeError:
            data = None
        if data is None and has_internet(_HOSTS[name]):
            data = _from_torchvision(name, download=True)
        if data is None:
            folder = next((f for f in offline_candidates() if (f / f"{name}_subset.npz").is_file()), None)
            if folder is None:
                raise FileNotFoundError(
                    f"Cannot get {name}: no internet to download it, no cached copy in {DOWNLOAD_DIR}, "
                    f"and no offline subset {name}_subset.npz in REP_DATA_DIR or ../shared/data. "
                    "Connect to the internet, or set REP_DATA_DIR to the folder with the subsets.")
            data = _from_subset(name, folder, "../shared/data")
    if verbose:
        print("Data:", data.describe())
    return data


def toy_2d(name: str, n: int = 2000, noise: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D toy sets ``'moons'`` and ``'circles'`` (scikit-learn generators), standardised."""
    from sklearn import datasets

    makers = {"moons": lambda: datasets.make_moons(n, noise=noise, random_state=seed),
              "circles": lambda: datasets.make_circles(n, noise=noise, factor=0.5, random_state=seed)}
    if name not in makers:
        raise ValueError(f"Unknown toy set {name!r}; choose one of {sorted(makers)}.")
    x, y = makers[name]()
    x = (x - x.mean(0)) / x.std(0)
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
