"""Numbers for the book's prose (defined in the Setup chapter).

``glue(name, value)`` shows a value in the notebook and, when myst-nb is installed (the book
build), stores it under ``name`` so a page's text can cite it as ``{glue:text}`name:.3f```:
every number in the prose comes from the run shown above it.
"""
from __future__ import annotations


def glue(name: str, value) -> None:
    try:
        from myst_nb import glue as _glue
    except ImportError:  # Colab: no book tooling, just show it
        print(f"{name} = {value}")
        return
    _glue(name, value, display=True)
