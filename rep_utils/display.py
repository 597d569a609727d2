"""Showing the package in the book (defined in the Setup chapter).

- ``show_source(fn)``: a function's source, syntax-highlighted, so a chapter shows the code that
  actually runs.
- ``glue(name, value)``: one value stored for the prose, not shown (``rep_utils.report.glue``).
"""
from __future__ import annotations

import inspect

from .report import glue as _glue


def show_source(obj):
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def glue(name: str, value) -> None:
    _glue({name: value})
