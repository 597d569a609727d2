"""Showing the package in the book (defined in the Setup chapter).

- ``show_source(fn)``: a function's source, syntax-highlighted, so a chapter shows the code that
  actually runs.
- ``glue(name, value)``: shows a value and, when myst-nb is installed (the book build), stores it
  under ``name`` so a page's text can cite it as ``{glue:text}`name:.3f```: every number in the
  prose comes from the run shown above it.
"""
from __future__ import annotations

import inspect


def show_source(obj):
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def glue(name: str, value) -> None:
    if getattr(value, "ndim", None) == 0:  # NumPy / torch scalars: glue the plain number
        value = value.item()
    try:
        from myst_nb import glue as _glue
    except ImportError:  # Colab: no book tooling, just show it
        print(f"{name} = {value}")
        return
    _glue(name, value, display=True)
