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


def resolve_profile(profile: str | None = None) -> str:
    """Return a valid profile name.

    ``None`` reads the ``REP_PROFILE`` environment variable; if that is unset too, the profile
    is ``colab`` when a CUDA GPU is present and ``ci`` otherwise. An unknown name raises a
    ``ValueError`` that lists the valid ones.
    """
    source = "the parameters cell"
    if profile is None:
        profile, source = os.environ.get("REP_PROFILE"), "REP_PROFILE"
    if profile is None:
        return "colab" if torch.cuda.is_available() else "ci"
    name = str(profile).strip().lower()
    if name not in PROFILES:
        valid = "\n".join(f"  {k:6s} {v}" for k, v in PROFILES.items())
        raise ValueError(
            f"Unknown profile {profile!r} (from {source}). Choose one of:\n{valid}\n"
            "Set it in the notebook's parameters cell (profile = 'ci') or with REP_PROFILE=ci."
        )
    return name
