"""A chapter's setup in one call (defined in the Setup chapter): the profile, the configs with the
parameters cell's overrides, the chapter's own numbers (seeds, sizes) per profile, the device, the
seed and the run record, printed in one place."""
from __future__ import annotations

from dataclasses import fields, replace
from types import SimpleNamespace
from typing import Callable, Mapping

import torch

from .profiles import PROFILES, resolve_profile
from .report import wrap
from .train import RunRecord, pick_device, seed_everything


def setup(chapter: str, profile: str | None = None, seed: int = 0, *,
          configs: Mapping[str, tuple[Callable[[str], object], Mapping]] | Callable[[dict], Mapping] | None = None,
          numbers: Mapping[str, tuple[object, Mapping[str, object]]] | None = None,
          device: str | torch.device | None = None, threads: int | None = None) -> SimpleNamespace:
    """Everything a chapter's runs share, from its parameters cell.

    ``configs`` maps a name to ``(for_profile, overrides)``: the config is ``for_profile(profile)``
    with every override that is not ``None`` replacing its field. ``numbers`` maps a name to
    ``(value, {profile: default})``: the parameters cell's value, or the profile's default where
    it is ``None``; ``configs`` may also be a function of the resolved numbers (a dict) that
    returns the mapping, where overrides depend on them. ``device`` (default: a GPU where there is
    one) and ``threads`` (CPU threads; default torch's) are fixed here, everything is seeded with
    ``seed`` and a :class:`~rep_utils.train.RunRecord` named ``chapter`` starts. Returns a namespace with
    ``profile``, ``seed``, ``device``, ``record``, one attribute per config and one per number.
    """
    profile = resolve_profile(profile)
    out = {}
    for name, (value, defaults) in (numbers or {}).items():
        missing = set(PROFILES) - set(defaults)
        if missing:
            raise ValueError(f"{name}: no default for the profiles {sorted(missing)}.")
        out[name] = defaults[profile] if value is None else value
    configs = configs(dict(out)) if callable(configs) else configs or {}
    for name, (for_profile, overrides) in configs.items():
        cfg = for_profile(profile)
        known = {f.name for f in fields(cfg)}
        unknown = sorted(k for k, v in overrides.items() if v is not None and k not in known)
        if unknown:
            raise ValueError(f"{name}: {unknown} are not fields of {type(cfg).__name__}; the fields are {sorted(known)}.")
        out[name] = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device) if device is not None else pick_device()
    seed_everything(seed)
    chosen = ", ".join(f"{k} {out[k]}" for k in (numbers or {}))
    print(wrap(f"{chapter}: profile {profile}, seed {seed}" + (f"; {chosen}" if chosen else "")))
    for name in configs:
        print(wrap(f"{name}: {out[name]}"))
    record = RunRecord.start(chapter, profile, seed, device)
    return SimpleNamespace(profile=profile, seed=seed, device=device, record=record, **out)
