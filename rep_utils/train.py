"""Training helpers shared by every chapter (defined in the Setup chapter): device choice, seeding,
mixed precision, an epoch loop with a progress bar that checkpoints (:mod:`rep_utils.checkpoints`)
and resumes where it stopped, and the run record every notebook prints."""
from __future__ import annotations

import json
import os
import platform
import random
import textwrap
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

with warnings.catch_warnings():  # without ipywidgets, tqdm.auto falls back to a text bar: fine
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

from .checkpoints import check_writable, load_checkpoint, restore, save_checkpoint
from .checks import check_finite

CHECKPOINT_DIR = Path(os.environ.get("REP_CHECKPOINT_DIR", "checkpoints"))
CHECK_EVERY = 50  # steps between checks for a non-finite loss inside an epoch


def pick_device(verbose: bool = True) -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU, and say which (with a hint on Colab)."""
    if torch.cuda.is_available():
        dev = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        dev = torch.device("mps")
    else:
        dev = torch.device("cpu")
    if verbose:
        print("Device:", describe_device(dev))
        if dev.type == "cpu":
            print("No GPU found. On Colab: Runtime > Change runtime type > T4 GPU, then run all again.")
    return dev


def describe_device(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"
    return dev.type


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and make cuDNN deterministic: same seed, same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


class Amp:
    """Mixed precision on CUDA: bf16 where the GPU has it, else fp16 with loss scaling (T4).
    On other devices it is a no-op. ``step`` does backward, (unscaled) clipping and the update."""

    def __init__(self, device: torch.device, enabled: bool = True):
        self.device = device
        self.dtype = None
        if enabled and device.type == "cuda":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else nullcontext()

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self):
        return self.scaler.state_dict()

    def load_state_dict(self, state):
        self.scaler.load_state_dict(state)


def fit(
    state: dict,
    step: Callable[[torch.Tensor, torch.Generator, int], dict],
    *,
    n: int,
    epochs: int,
    batch_size: int,
    seed: int,
    device: torch.device,
    checkpoint: str | Path | None = None,
    on_epoch_end: Callable[[int], dict] | None = None,
    desc: str = "train",
    meta: dict | None = None,
    progress: bool = True,
) -> list[dict]:
    """Run ``epochs`` passes over ``n`` examples in shuffled batches of indices and return the
    history (one dict of mean metrics per epoch).

    ``step(idx, g, k)`` trains on the examples ``idx`` (on ``device``) and returns scalar metrics;
    ``g`` is the epoch's generator for its augmentations and ``k`` the number of steps taken
    before this one (0, 1, ...; a resumed run goes on counting, so schedules need no state).
    ``state`` maps names to everything with a ``state_dict`` (models, optimisers, ``Amp``).
    Shuffles and augmentations are drawn from a generator seeded by ``(seed, epoch)``, so a run
    resumed from the checkpoint saved after each epoch ends with the same weights as one that was
    never interrupted. ``meta`` (the config)
    is saved with the checkpoint; a checkpoint written under another config is not resumed.
    ``progress=False`` hides the progress bar (many short runs). A non-finite metric or weight
    stops the run (:func:`rep_utils.checks.check_finite`).
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}: there is nothing to train; it must be an integer >= 1.")
    if n // batch_size == 0:
        raise ValueError(f"batch_size={batch_size} is larger than the {n} training examples: "
                         "lower batch_size or train on more examples.")
    path = Path(checkpoint) if checkpoint else None
    if path:
        check_writable(path.parent)
    history, start = [], 0
    ck = load_checkpoint(path, device, meta)
    if ck is not None and not restore(state, ck["state"], path):
        ck = None
    if ck is not None:
        history, start = ck["history"], ck["epoch"] + 1
        torch.set_rng_state(ck["rng"])
        print(f"Resumed from {path} after epoch {start} of {epochs}.")
    modules = {k: m for k, m in state.items() if isinstance(m, torch.nn.Module)}
    steps = n // batch_size
    bar = tqdm(total=(epochs - start) * steps, desc=desc, mininterval=2.0, disable=not progress)
    for epoch in range(start, epochs):
        g = torch.Generator(device).manual_seed(seed * 100_003 + epoch)
        perm = torch.randperm(n, device=device, generator=g)
        sums: dict[str, float] = {}
        for i in range(steps):
            metrics = step(perm[i * batch_size:(i + 1) * batch_size], g, epoch * steps + i)
            for k, v in metrics.items():  # summed on the device: no GPU sync per step
                sums[k] = sums.get(k, 0.0) + (v.detach() if torch.is_tensor(v) else v)
            if (i + 1) % CHECK_EVERY == 0:  # one sync per CHECK_EVERY steps
                check_finite(sums, {}, f"in {desc}, epoch {epoch + 1}, step {i + 1}", meta)
            bar.update()
        check_finite(sums, modules, f"in {desc}, epoch {epoch + 1}", meta)
        record = {"epoch": epoch + 1, **{k: float(v) / steps for k, v in sums.items()}}
        if on_epoch_end:
            record.update(on_epoch_end(epoch))
        history.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
        if path:
            save_checkpoint(path, {"state": {k: o.state_dict() for k, o in state.items()},
                                   "epoch": epoch, "history": history, "rng": torch.get_rng_state(),
                                   "meta": meta})
    bar.close()
    return history


def _versions() -> dict:
    import sklearn
    import torchvision

    from . import __version__

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "scikit-learn": sklearn.__version__,
            "rep_utils": __version__}


LINE_WIDTH = 88  # of the printed run record


def _rounded(v, digits: int = 4):
    """A result as plain, readable JSON: arrays, tensors and NumPy scalars as Python values, floats
    rounded to ``digits`` decimals, inside dicts and lists too."""
    v = v.tolist() if hasattr(v, "tolist") else v
    if isinstance(v, dict):
        return {k: _rounded(x, digits) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_rounded(x, digits) for x in v]
    return round(v, digits) if isinstance(v, float) else v


@dataclass
class RunRecord:
    """How a run happened: printed under every result and saved as JSON beside the notebook."""

    name: str
    profile: str
    seed: int
    device: str
    dataset: str = ""
    n_train: int = 0
    n_test: int = 0
    epochs: int = 0
    versions: dict = field(default_factory=_versions)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    wall_time_s: float = 0.0
    peak_gpu_mem_gb: float | None = None
    results: dict = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    @classmethod
    def start(cls, name, profile, seed, device, data=None, epochs=0) -> "RunRecord":
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        record = cls(name, profile, seed, describe_device(device))
        record.uses(data, epochs)
        return record

    def uses(self, data=None, epochs: int = 0, dataset: str | None = None) -> None:
        """Record the data (an ``ImageData``, or the ``dataset`` name alone) and the epochs."""
        if data is not None:
            self.dataset, self.n_train, self.n_test = data.source, len(data.y_train), len(data.y_test)
        self.dataset, self.epochs = dataset or self.dataset, epochs or self.epochs

    def finish(self, **results) -> "RunRecord":
        """Stop the clock and keep ``results`` (rounded to 4 decimals: see ``_rounded``)."""
        self.wall_time_s = round(time.perf_counter() - self._t0, 1)
        if torch.cuda.is_available():
            self.peak_gpu_mem_gb = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        self.results.update(_rounded(results))
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("_t0")
        return d

    def show(self, save_dir: str | Path = "runs") -> None:
        """Print the record and save it to ``save_dir/<name>.json``."""
        d = self.to_dict()
        width = max(map(len, d))
        print("Run record")
        for k, v in d.items():  # "  key  value", long values wrapped under the value column
            print(textwrap.fill(str(v), LINE_WIDTH, initial_indent=f"  {k:<{width}}  ",
                                subsequent_indent=" " * (width + 4), break_on_hyphens=False))
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        (Path(save_dir) / f"{self.name}.json").write_text(json.dumps(d, indent=2, default=str))
