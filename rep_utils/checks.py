"""Checks that stop a run early with a message saying what to change, instead of failing deep
inside training or silently giving a wrong result: config fields (types and ranges, when a config
is built) and the run's numbers (non-finite losses and weights, during training)."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import fields

import torch

# Fields (by name) that must be positive (also every ``n_*``) or lie in [0, 1] (also every
# ``*_p``); any other number must be finite and, unless in _SIGNED, non-negative.
_POSITIVE = ("epochs", "epochs_per_round", "iterations", "batch_size", "neg_batch", "rounds", "width",
             "hidden", "hidden_dim", "out_dim", "dim", "pred_dim", "image_size", "n_clusters", "lr",
             "base_lr", "tau", "temperature", "sgld_steps", "step_size", "sgld_step_size",
             "buffer_size", "neg_per_class", "classes", "z_dim", "channels", "box", "max_energy")
_UNIT = ("momentum", "tau_base", "tau_end", "reinit", "corner")
_SIGNED = ("z_lo", "z_hi", "x_logvar_init")  # the only fields that may be negative
# the knobs a divergence message names: the learning rate, else a sampler's step size
KNOBS = (("lr", "base_lr"), ("step_size", "sgld_step_size"))


def _allowed(hint) -> tuple[type, ...]:
    """The runtime classes a type hint admits (``int | None`` -> (int, NoneType))."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return sum((_allowed(a) for a in typing.get_args(hint)), ())
    if hint is type(None):
        return (type(None),)
    cls = origin or hint
    return (cls,) if isinstance(cls, type) else (object,)


def _check_type(name: str, value, hint) -> None:
    allowed = _allowed(hint)
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        ok = True  # an int where a float is wanted is exact
    if not ok:
        want = " or ".join("None" if a is type(None) else a.__name__ for a in allowed)
        raise TypeError(f"{name}={value!r} is a {type(value).__name__}; it must be {want}.")


def _check_range(name: str, value) -> None:
    if isinstance(value, tuple):
        for v in value:
            _check_range(name, v)
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise ValueError(f"{name}={value!r}: it must be a finite number.")
    if (name in _POSITIVE or name.startswith("n_")) and value <= 0:
        raise ValueError(f"{name}={value!r}: it must be positive.")
    if (name in _UNIT or name.endswith("_p")) and not 0 <= value <= 1:
        raise ValueError(f"{name}={value!r}: it must lie in [0, 1].")
    if value < 0 and name not in _SIGNED:
        raise ValueError(f"{name}={value!r}: it must not be negative.")


def validate_config(cfg) -> None:
    """Types and ranges of a config dataclass's fields, and ``batch_size <= n_train`` when both
    are known. Called from each config's ``__post_init__``, so also by ``dataclasses.replace``."""
    hints = typing.get_type_hints(type(cfg))
    where = type(cfg).__name__
    try:
        for f in fields(cfg):
            value = getattr(cfg, f.name)
            _check_type(f.name, value, hints[f.name])
            _check_range(f.name, value)
        n, b = getattr(cfg, "n_train", None), getattr(cfg, "batch_size", None)
        if n is not None and b is not None and b > n:
            raise ValueError(f"batch_size={b} is larger than n_train={n}: lower batch_size or raise n_train.")
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {e}") from None


def knob(meta: dict | None) -> str:
    """The learning rate of a run's config (else its step size), for divergence messages."""
    for names in KNOBS:
        found = [f"{k}={meta[k]:g}" for k in names if meta and isinstance(meta.get(k), (int, float))]
        if found:
            return ", ".join(found)
    return "the learning rate"


def check_finite(metrics: dict, modules, where: str, meta: dict | None) -> None:
    """Stop when a metric (a loss) or a weight is NaN or infinite: training on from there only
    produces numbers that look like results (a diverged classifier still reports an error rate)."""
    bad = [k for k, v in metrics.items() if not math.isfinite(float(v))]
    bad += [f"weights of {name}" for name, m in modules.items()
            if not torch.stack([p.isfinite().all() for p in m.parameters()] or [torch.tensor(True)]).all()]
    if bad:
        raise FloatingPointError(
            f"Training diverged {where}: {', '.join(bad)} became NaN or infinite. The run is stopped "
            f"rather than reporting numbers from a broken model. Lower {knob(meta)}, "
            "for example 10x, and run again.")
