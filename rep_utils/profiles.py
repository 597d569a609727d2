"""Run profiles: one notebook, three budgets (defined in the Setup chapter).

A notebook's papermill ``parameters`` cell holds ``profile = None``; :func:`resolve_profile`
turns that into one of :data:`PROFILES`. Each method's config dataclass maps the name to its
sizes (``Config.for_profile(name)``).
"""
from __future__ import annotations

import os

import torch

PROFILES = {
    "ci": "CPU, reduced data, about a minute: proves the notebook runs and its claims hold at small scale",
    "colab": "one T4-class GPU, under ~20 minutes: the runs whose outputs the book shows",
    "full": "the paper's settings: hours on a GPU",
}


def by_profile(table: dict, profile: str, what: str = "profile"):
    """``table[profile]``, or a ``ValueError`` naming the valid keys (a config's ``for_profile``)."""
    if profile not in table:
        raise ValueError(f"{what}={profile!r}: choose one of {sorted(table)}.")
    return table[profile]


def has_gpu() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return torch.cuda.is_available() or bool(mps and mps.is_available())


def resolve_profile(profile: str | None = None) -> str:
    """Return a valid profile name.

    ``None`` (or an empty string) reads the ``REP_PROFILE`` environment variable; if that is unset
    or empty too, the profile is ``colab`` when a GPU is present and ``ci`` otherwise. An unknown
    name raises a ``ValueError`` that lists the valid ones; ``colab`` or ``full`` without a GPU
    stops with a ``RuntimeError`` unless ``REP_FORCE_PROFILE=1``.
    """
    source = "the parameters cell"
    if profile is None or not str(profile).strip():
        profile, source = os.environ.get("REP_PROFILE", "").strip() or None, "REP_PROFILE"
    if profile is None:
        return "colab" if has_gpu() else "ci"
    name = str(profile).strip().lower()
    if name not in PROFILES:
        valid = "\n".join(f"  {k:6s} {v}" for k, v in PROFILES.items())
        raise ValueError(
            f"Unknown profile {profile!r} (from {source}). Choose one of:\n{valid}\n"
            "Set it in the notebook's parameters cell (profile = 'ci') or with REP_PROFILE=ci."
        )
    if name != "ci" and not has_gpu() and os.environ.get("REP_FORCE_PROFILE", "") != "1":
        # estimate: BYOL's colab run is ~6 epochs x 25,000 images x ~9 GFLOP x 3 runs ~ 4e15 FLOP,
        # ~20 min at a T4's sustained ~8 TFLOP/s, ~10 h at a 2-core CPU's ~0.1 TFLOP/s
        raise RuntimeError(
            f"Profile {name!r} (from {source}) is sized for a GPU, and none was found: a chapter that "
            "takes ~20 minutes on a T4 would take roughly 10 hours or more on this CPU (an estimate). "
            "On Colab: Runtime > Change runtime type > T4 GPU, then run all again. Or use "
            "profile = 'ci' (about a minute on a CPU). To run it on the CPU anyway, set "
            "REP_FORCE_PROFILE=1.")
    return name
