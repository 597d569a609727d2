"""Checkpoints (defined in the Setup chapter): written atomically, resumed only under the same
configuration, and set aside with a message, never overwritten, when they cannot be resumed."""
from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch


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


def restore(state: dict, saved: dict, path: Path) -> bool:
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
