"""Datasets as in-memory uint8 tensors (defined in the Setup chapter).

Where there is internet (Colab, a laptop) the full datasets come from torchvision, cached in
``REP_DOWNLOAD_DIR``. Offline, or when a download fails, from ``REP_DATA_DIR`` (default:
``../shared/data`` beside the repository): ``ci`` reads the exact subsets ``*_subset.npz``, ``colab``
and ``full`` the full-size copies ``mnist_full.npz`` (lossless) and ``cifar10_jpeg.npz`` (a JPEG
re-encoded copy, which every run names as such), each checked against the data README's sha256.
Every load prints which data it uses and how many images.

Images stay uint8 ``[N, C, H, W]`` until a batch is on the device: a whole CIFAR-10 training set
is 150 MB, so it fits on any GPU and batches need no DataLoader workers.
"""
from __future__ import annotations

import hashlib
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .profiles import resolve_profile

# Per-channel statistics of the full training sets (for input normalisation).
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
_HOSTS = {"mnist": "ossci-datasets.s3.amazonaws.com", "cifar10": "www.cs.toronto.edu"}
DOWNLOAD_DIR = Path(os.environ.get("REP_DOWNLOAD_DIR", Path.home() / ".cache" / "rep_utils" / "data"))
# The offline files per dataset: (exact subset for ci, full-size copy for colab/full).
OFFLINE = {"mnist": ("mnist_subset.npz", "mnist_full.npz"),
           "cifar10": ("cifar10_subset.npz", "cifar10_jpeg.npz")}
# sha256 and size in bytes, from the offline data's README.
SHA256 = {
    "mnist_subset.npz": ("fa7f2175828d7aedeaf30e670eb928aafae27193f7eded5a4221e78005034d9a", 4_511_810),
    "cifar10_subset.npz": ("f4288f5eba6539ae9364bd70508941e1544f02297aba3b94cd60ca94a0f4e179", 17_265_849),
    "mnist_full.npz": ("094b831e432331f1f6d6829ab9bfff4551410a81e1f816c9cce482d3e9b3ba57", 11_507_688),
    "cifar10_jpeg.npz": ("f2e7ac6c408abcb00e52f2824f00bbdd8aff13d152f04b659b1dfd41fa5140e8", 18_385_973),
}
_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime) already hashed in this process


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """``(x - mean) / std`` per channel, with a dataset's ``mean_std``; uint8 input is scaled to [0, 1]
    first. What every network sees: augmentations work on [0, 1] pixels, networks on this."""
    x = x.float() / 255 if x.dtype == torch.uint8 else x
    m, s = (torch.as_tensor(v, device=x.device, dtype=x.dtype)[None, :, None, None] for v in (mean, std))
    return (x - m) / s


def denormalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """The inverse of :func:`normalize`: network inputs back to [0, 1] pixels (to show them)."""
    m, s = (torch.as_tensor(v, device=x.device, dtype=x.dtype)[None, :, None, None] for v in (mean, std))
    return x * s + m


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

    def subset(self, n_train: int | None = None, n_test: int | None = None, draw: int = 0) -> "ImageData":
        """The first ``n_train`` / ``n_test`` images of a fixed shuffle (the same for every seed);
        ``draw`` > 0 takes the training images from another shuffle, the test images stay."""
        g = torch.Generator().manual_seed(0)
        tr = torch.randperm(len(self.y_train), generator=g)[:n_train]
        te = torch.randperm(len(self.y_test), generator=g)[:n_test]
        if draw:
            tr = torch.randperm(len(self.y_train), generator=torch.Generator().manual_seed(draw))[:n_train]
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

    def for_config(self, cfg) -> "ImageData":
        """The images a run of ``cfg`` uses: ``subset(cfg.n_train, cfg.n_test, cfg.draw)`` unless the
        sizes already match (data subset already), at ``cfg.image_size`` (both fields optional)."""
        sizes, draw = (len(self.y_train), len(self.y_test)), getattr(cfg, "draw", 0)
        data = self
        if draw or (cfg.n_train or sizes[0], cfg.n_test or sizes[1]) != sizes:
            data = self.subset(cfg.n_train, cfg.n_test, draw)
        size = getattr(cfg, "image_size", None)
        return data.resized(size) if size else data

    def describe(self) -> str:
        c, h, w = self.x_train.shape[1:]
        return (f"{self.name}: {len(self.y_train):,} train / {len(self.y_test):,} test images "
                f"of {c}x{h}x{w}, {self.num_classes} classes ({self.source})")


def offline_candidates() -> list[Path]:
    """Folders searched for the offline files when ``REP_DATA_DIR`` is unset."""
    bases = (Path(__file__).resolve().parents[2], Path.cwd().parent, Path.cwd().parent.parent)
    return [b / "shared" / "data" for b in bases]


def has_internet(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def verify(path: Path, where: str) -> None:
    """Check ``path`` against its sha256 in :data:`SHA256` (hashed once per process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return
    want, size = SHA256[path.name]
    if hashlib.sha256(path.read_bytes()).hexdigest() != want:  # the files are at most ~20 MB
        state = (f"truncated: {st.st_size:,} of {size:,} bytes" if st.st_size < size
                 else "corrupted or another version: its sha256 differs from the data README's")
        raise OSError(f"{path.name} in {where} is {state}. Copy it again from the offline data "
                      "folder (shared/data), or point REP_DATA_DIR at a folder with intact copies.")
    _verified.add(key)


def _chw(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    return (x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)).contiguous()


def _decode_jpeg(buf: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
    with warnings.catch_warnings():  # torchvision 0.29 marks its image codecs deprecated: still fine
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import decode_jpeg
    b = torch.from_numpy(buf)
    return torch.stack(decode_jpeg([b[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]))


def _from_file(name: str, path: Path, where: str) -> ImageData:
    """``where`` names the folder in messages without the machine's absolute path."""
    verify(path, where)
    z = np.load(path)
    classes = [str(c) for c in z["classes"]] if "classes" in z else [str(i) for i in range(10)]
    if "train_jpeg" in z:
        x_train, x_test = (_decode_jpeg(z[f"{s}_jpeg"], z[f"{s}_offsets"]) for s in ("train", "test"))
        source = f"CIFAR-10 (JPEG re-encoded copy), offline {path.name} from {where}"
    else:
        x_train, x_test = _chw(z["x_train"]), _chw(z["x_test"])
        kind = "full-size copy" if path.name.endswith("_full.npz") else "reduced subset"
        source = f"offline {kind} {path.name} from {where}"
    return ImageData(name, source, x_train, torch.as_tensor(z["y_train"]),
                     x_test, torch.as_tensor(z["y_test"]), classes)


def _from_torchvision(name: str, download: bool) -> ImageData:
    import torchvision

    cls = {"mnist": torchvision.datasets.MNIST, "cifar10": torchvision.datasets.CIFAR10}[name]
    train, test = (cls(DOWNLOAD_DIR, train=t, download=download) for t in (True, False))

    x_y = [t for ds in (train, test)
           for t in (_chw(np.asarray(ds.data)), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64))]
    classes = [c.split(" - ")[-1] for c in train.classes]
    return ImageData(name, f"full torchvision {name}, cached in REP_DOWNLOAD_DIR", *x_y, classes)


def _offline(name: str, full_size: bool) -> ImageData | None:
    """The offline copy the profile wants (the full-size one for colab/full, falling back to the
    subset with a message), from ``REP_DATA_DIR`` or ``../shared/data``; None if there is none."""
    env = os.environ.get("REP_DATA_DIR")
    folders = [(Path(env).expanduser(), "REP_DATA_DIR")] if env else \
        [(f, "../shared/data") for f in offline_candidates()]
    wanted = OFFLINE[name][::-1] if full_size else OFFLINE[name][:1]
    for file in wanted:
        for folder, where in folders:
            if (folder / file).is_file():
                if full_size and file != wanted[0]:
                    print(f"Note: no {wanted[0]} in {where}; using the reduced subset {file} instead.")
                return _from_file(name, folder / file, where)
    if env:
        raise FileNotFoundError(
            f"REP_DATA_DIR={env} has no {' or '.join(wanted)}. Point REP_DATA_DIR at the folder that "
            "holds the offline data (shared/data beside the repository), or unset it to download.")
    return None


def load_images(name: str, profile: str | None = None, verbose: bool = True,
                full_size: bool | None = None) -> ImageData:
    """Load ``'mnist'`` or ``'cifar10'`` for ``profile`` (None: :func:`resolve_profile`'s choice).

    With ``REP_DATA_DIR`` set: its offline files. Otherwise the full torchvision data (cached, or
    downloaded when there is internet); if that fails, the offline files with a message saying so.
    Offline, ``ci`` gets the exact subsets and ``colab``/``full`` the full-size copies;
    ``full_size`` overrides the profile's choice (a ci run that trains on all of MNIST)."""
    if name not in STATS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(STATS)}.")
    full_size = resolve_profile(profile) != "ci" if full_size is None else full_size
    data = _offline(name, full_size) if os.environ.get("REP_DATA_DIR") else None
    failure = None
    if data is None:
        try:
            data = _from_torchvision(name, download=False)  # already cached
        except RuntimeError:  # torchvision: "Dataset not found"
            pass
    if data is None and has_internet(_HOSTS[name]):
        try:
            data = _from_torchvision(name, download=True)
        except (RuntimeError, OSError) as e:  # a failed download, an unwritable REP_DOWNLOAD_DIR
            failure = f"{type(e).__name__}: {e}"
    if data is None:
        data = _offline(name, full_size)
        if data is None:
            why = (f"downloading it failed ({failure})" if failure
                   else "there is no internet to download it")
            raise FileNotFoundError(
                f"Cannot get {name}: {why}, REP_DOWNLOAD_DIR has no cached copy, and there are no "
                f"offline files ({' / '.join(OFFLINE[name])}) in REP_DATA_DIR or ../shared/data. "
                "Set REP_DOWNLOAD_DIR to a writable folder and connect to the internet, or set "
                "REP_DATA_DIR to the folder with the offline data.")
        if failure:
            print(f"Downloading {name} failed ({failure}); using the offline copy instead.")
    if verbose:
        print("Data:", data.describe())
    return data
