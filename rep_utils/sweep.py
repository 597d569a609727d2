"""Seeds x variants (defined in the Setup chapter): the repeated runs behind every table of means
over seeds, one line per run with its wall time, each run checkpointed under a name made of the
chapter, the profile, the variant and the seed (so a rerun resumes or reuses it)."""
from __future__ import annotations

import re
import time
from typing import Callable, Iterable, Mapping

from .train import CHECKPOINT_DIR


def _name(variant) -> str:
    """A variant's name: a string, or a tuple of parts (e.g. arm, size, draw) joined by spaces."""
    return " ".join(map(str, variant)) if isinstance(variant, tuple) else str(variant)


def checkpoint_path(chapter: str, profile: str, variant, seed: int):
    """``CHECKPOINT_DIR/<chapter>_<variant>_<profile>_<seed>.pt``, the variant reduced to [a-z0-9_]."""
    slug = re.sub(r"[^a-z0-9]+", "_", _name(variant).lower()).strip("_")
    return CHECKPOINT_DIR / f"{chapter}_{slug}_{profile}_{seed}.pt"


def sweep(run: Callable, variants: Mapping[object, object], seeds: Iterable[int], chapter: str,
          profile: str, verbose: bool = True) -> dict[object, dict[int, object]]:
    """``run(cfg, seed, checkpoint)`` for every variant (name or tuple of parts -> config) and
    seed; returns ``{variant: {seed: result}}``. Progress bars are the run's business (pass ``progress`` into
    ``run``); here one line per finished run says how long it took."""
    out: dict[str, dict[int, object]] = {}
    for name, cfg in variants.items():
        for s in seeds:
            t0 = time.perf_counter()
            out.setdefault(name, {})[s] = run(cfg, s, checkpoint_path(chapter, profile, name, s))
            if verbose:
                print(f"{_name(name)}, seed {s}: {time.perf_counter() - t0:.0f} s")
    return out
