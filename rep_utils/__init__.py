"""rep_utils: the small training package behind the executable course on representation learning.

Layers, each chapter reusing the ones below it: ``data`` -> ``augment`` -> ``models`` ->
one file per method -> ``train`` -> ``evaluate`` -> ``plots``.
"""
__version__ = "0.2.0"
