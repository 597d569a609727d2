"""Training helpers shared by every chapter (defined in the Setup chapter): device choice, seeding,
mixed precision, an epoch loop with a progress bar and atomic checkpoints that resumes where it
stopped, and the run record every notebook prints."""
from __future__ import annotations

import copy
import json
import os
import platform
import random
import sys
import tempfile
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


def check_writable(folder: str | Path) -> None:
    """Fail before any compute is spent when checkpoints cannot be written to ``folder``; on Colab,
    warn when it is not on a mounted Google Drive (it would vanish with the runtime)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise PermissionError(
            f"Cannot write checkpoints to {folder} ({type(e).__name__}: {e.strerror or e}). Set "
            "REP_CHECKPOINT_DIR to a writable folder (on Colab, one on a mounted Drive: "
            "from google.colab import drive; drive.mount('/content/drive')).") from None
    on_colab = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
    if on_colab and not (os.path.ismount("/content/drive") and
                         folder.resolve().is_relative_to("/content/drive")):
        warnings.warn(f"Checkpoints go to {folder}, which is not on a mounted Google Drive: they are "
                      "lost when the Colab runtime is reset. Mount Drive and set REP_CHECKPOINT_DIR "
                      "to a folder under /content/drive to keep them.", stacklevel=3)


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write to a temporary file with a unique name in the same folder, then rename: a crash or a
    Colab disconnect mid-write never leaves a half-written checkpoint behind, and two runs saving
    to the same path never write into each other's temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _set_aside(path: Path, why: str) -> Path:
    """Rename a checkpoint that is not resumed, so that the new run never overwrites it."""
    aside = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.{why}")
    os.replace(path, aside)
    return aside


def load_checkpoint(path: Path | None, device: torch.device, meta: dict | None) -> dict | None:
    """The checkpoint at ``path`` if it can be resumed: written under the same ``meta``. An
    unreadable file or one of another config is moved aside with a message; the run starts afresh."""
    if path is None or not path.is_file():
        return None
    try:
        ck = torch.load(path, map_location=device, weights_only=False)
        saved = ck["meta"]
    except Exception as e:  # truncated, garbage, or not a checkpoint of fit
        aside = _set_aside(path, "unreadable")
        warnings.warn(f"Checkpoint {path} is unreadable ({type(e).__name__}: {e}); moved it to "
                      f"{aside.name} and starting afresh.", stacklevel=3)
        return None
    if saved == meta:
        return ck
    keys = sorted(set(saved or {}) | set(meta or {}), key=str)
    diff = [f"{k}: {(saved or {}).get(k)!r} in the checkpoint, {(meta or {}).get(k)!r} now"
            for k in keys if (saved or {}).get(k) != (meta or {}).get(k)]
    aside = _set_aside(path, "other-config")
    hint = ""
    if {d.split(":")[0] for d in diff} <= {"epochs", "epochs_per_round", "iterations"}:
        hint = (" Only the training length changed, and a longer run is not continued from a shorter "
                "one: the learning-rate schedule depends on the total number of steps, so its first "
                "epochs would differ from a run trained for the new length from the start. To use "
                f"the finished run instead, restore the old value and rename {aside.name} back to "
                f"{path.name}.")
    print(f"Not resuming from {path}: it was written under another configuration "
          f"({'; '.join(diff)}). Moved it to {aside.name}; starting afresh.{hint}")
    return None


def _restore(state: dict, saved: dict, path: Path) -> bool:
    """Load ``saved`` into ``state``; a checkpoint of another code version (other keys or shapes) is
    moved aside and everything is put back as it was, so the run starts afresh."""
    initial = {k: copy.deepcopy(obj.state_dict()) for k, obj in state.items()}
    try:
        for k, obj in state.items():
            obj.load_state_dict(saved[k])
        return True
    except (KeyError, RuntimeError, ValueError) as e:
        for k, obj in state.items():
            obj.load_state_dict(initial[k])
        aside = _set_aside(path, "incompatible")
        print(f"Not resuming from {path}: it does not fit this code ({type(e).__name__}: {str(e)[:200]}). "
              f"Moved it to {aside.name}; starting afresh.")
        return False


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
    if ck is not None and not _restore(state, ck["state"], path):
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
        rec = cls(name, profile, seed, describe_device(device), epochs=epochs)
        if data is not None:
            rec.dataset, rec.n_train, rec.n_test = data.source, len(data.y_train), len(data.y_test)
        return rec

    def finish(self, **results) -> "RunRecord":
        self.wall_time_s = round(time.perf_counter() - self._t0, 1)
        if torch.cuda.is_available():
            self.peak_gpu_mem_gb = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        self.results.update(results)
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
