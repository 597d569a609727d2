"""Reporting results in the book (defined in the Setup chapter): one convention for every chapter.

- ``mean_std`` / ``pm``: mean and *sample* standard deviation over seeds (``ddof=1``), written
  "m ± s"; the number of seeds is always stated beside it.
- ``paired``: a per-seed paired comparison (difference, its standard error, paired t, two-sided p,
  wins), as when two methods share seeds; ``accuracy_gap_se``: the binomial standard error of the
  gap between two accuracies on one test set (a single seed's noise floor).
- ``compare``: two arms over shared seeds in one dict (each arm's mean and std, the paired
  statistics of new - base), ready for ``glue(..., prefix=...)`` and the paper-vs-ours tables;
  ``compare_arms`` prints it with each arm's per-seed values.
- ``table``: rows of dicts rendered as a real table on the page (MyST markdown, math included).
- ``glue``: values stored for the prose (``{glue:text}`name:.3f```) without being shown.
- ``wrap``: a config or any value as text wrapped to the page's column (no sideways scrolling).
"""
from __future__ import annotations

import math
import textwrap
from typing import Iterable, Mapping, Sequence

import numpy as np


def _plain(value):
    """NumPy / torch scalars as plain Python numbers, so that glue formats them in the prose."""
    return value.item() if getattr(value, "ndim", None) == 0 else value


def mean_std(x: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    a = np.asarray(list(x), dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def pm(x: Iterable[float], fmt: str = ".2f", scale: float = 1.0) -> str:
    """ "mean ± sample std" of ``x`` times ``scale`` (e.g. 100 for percentages); a single value
    alone, without a spread that was never measured."""
    values = [scale * v for v in x]
    m, s = mean_std(values)
    spread = fmt.replace("+", "")  # a standard deviation has no sign to show
    return f"{m:{fmt}} ± {s:{spread}}" if len(values) > 1 else f"{m:{fmt}}"


def span(values: Mapping[str, float], fmt: str = ".2f") -> str:
    """ "lowest (name) to highest (name)" of ``{name: value}``, for the prose."""
    lo, hi = min(values, key=values.get), max(values, key=values.get)
    return f"{values[lo]:{fmt}} ({lo}) to {values[hi]:{fmt}} ({hi})"


def paired(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired comparison of ``a`` against ``b`` over shared seeds: mean difference ``a - b``, its
    standard error, the paired t statistic, the two-sided p-value (Student's t, n - 1 degrees of
    freedom) and the number of seeds in which ``a > b``."""
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    if n < 2:
        raise ValueError(f"paired() needs at least two seeds, got {n}.")
    se = float(d.std(ddof=1) / math.sqrt(n))
    t = float(d.mean() / se) if se > 0 else math.copysign(math.inf, d.mean()) if d.mean() else 0.0
    p = float(2 * stats.t.sf(abs(t), n - 1)) if math.isfinite(t) else 0.0
    return {"diff": float(d.mean()), "se": se, "t": t, "p": p, "wins": int((d > 0).sum()), "n": n}


def compare(base: Sequence[float], new: Sequence[float], scale: float = 1.0,
            lower_is_better: bool = False) -> dict:
    """``new`` against ``base`` over shared seeds (or draw-seed pairs), both times ``scale``: each
    arm's mean and sample std (``base``, ``base_sd``, ``new``, ``new_sd``), the paired difference
    new - base with its ``se``, ``t`` and ``p``, and ``wins``: the pairs in which new is better
    (higher, or lower with ``lower_is_better``, as for errors), of ``n``."""
    b, a = (scale * np.asarray(v, dtype=float) for v in (base, new))
    st = paired(a, b)
    st["wins"] = int((a < b).sum()) if lower_is_better else st["wins"]
    (st["base"], st["base_sd"]), (st["new"], st["new_sd"]) = mean_std(b), mean_std(a)
    return st


def compare_arms(values: Mapping[str, Sequence[float]], base: str, new: str, what: str = "",
                 scale: float = 1.0, lower_is_better: bool = False) -> dict:
    """Print each arm's ``what`` (mean ± std over seeds, then every seed's value), and the paired
    difference ``new - base`` (mean ± s.e., t, p); return ``compare(values[base], values[new])``."""
    for name, v in values.items():
        print(f"{name}: {what} {pm(v, scale=scale)}  (per seed: {', '.join(f'{scale * x:.2f}' for x in v)})")
    c = compare(values[base], values[new], scale, lower_is_better)
    print(f"paired difference {new} - {base}: {c['diff']:+.2f} ± {c['se']:.2f} (mean ± s.e. over {c['n']}), "
          f"t = {c['t']:.2f}, p = {c['p']:.3f}")
    return c


def accuracy_gap_se(a: float, b: float, n: int) -> float:
    """Standard error of the difference of two accuracies ``a`` and ``b``, each measured on the same
    ``n`` test images, treated as independent binomials: sqrt((a(1-a) + b(1-b)) / n). Conservative:
    two classifiers that err on the same images differ by less than this."""
    return math.sqrt((a * (1 - a) + b * (1 - b)) / n)


def _cell(v, fmt: str) -> str:
    v = _plain(v)
    if isinstance(v, float):
        return f"{v:{fmt}}" if math.isfinite(v) else str(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Mapping], columns: Sequence[str] | Mapping[str, str] | None = None,
          fmt: str = ".3g"):
    """``rows`` (dicts) as a table: ``columns`` picks and orders the keys (a mapping also renames
    them to headers); floats use ``fmt``, strings are kept (so pre-formatted "m ± s" cells and
    ``$math$`` pass through). Returns an IPython ``Markdown`` object: the cell's last expression."""
    from IPython.display import Markdown

    if not rows:
        raise ValueError("table() got no rows.")
    keys = list(columns or rows[0])
    heads = [columns[k] for k in keys] if isinstance(columns, Mapping) else keys
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(r.get(k, ""), fmt) for k in keys) + " |" for r in rows]
    return Markdown("\n".join(lines))


def glue(values: Mapping | str | None = None, value=None, /, prefix: str = "", **named) -> None:
    """Store values for the page's prose without displaying them: ``glue(acc=0.91)``,
    ``glue("acc", 0.91)``, or many computed names at once, ``glue({f"acc_{k}": v for ...})``;
    ``prefix`` names them ``<prefix>_<name>`` (``glue(compare(...), prefix="main")``). Outside the
    book build (no myst-nb, e.g. on Colab) there is nothing to store into, so it does nothing."""
    if isinstance(values, str):
        values = {values: value}
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    for name, v in {**(values or {}), **named}.items():
        _glue(f"{prefix}_{name}" if prefix else name, _plain(v), display=False)


def wrap(obj, width: int = 88) -> str:
    """``repr(obj)`` (e.g. a config dataclass) broken at spaces into lines of at most ``width``
    characters, continuation lines indented: what a notebook prints instead of one long line."""
    return textwrap.fill(obj if isinstance(obj, str) else repr(obj), width, subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)
