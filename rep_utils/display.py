"""Showing the package in the book (defined in the Setup chapter): ``show_source(fn)`` shows a
function's source, syntax-highlighted, so a chapter shows the code that actually runs. (Values
for the prose are stored with ``rep_utils.report.glue``.)"""
from __future__ import annotations

import inspect


def show_source(obj):
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
