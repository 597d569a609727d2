"""rep_utils: the small training package behind the executable course on representation learning.

Layers, each importing only from the layers before it (``tests/test_layers.py`` checks this):

1. building blocks: ``profiles``, ``checks``, ``optim``, ``augment``, ``models``, ``sgld``,
   ``spectra``, ``densities``, ``display``, ``report``, ``checkpoints``;
2. ``data`` and ``plots`` (the figures, whose ± is ``report``'s);
3. ``train`` (the epoch loop, checkpoints, run records) and ``evaluate`` (frozen-feature probes);
4. ``monitor`` (label-free metrics), ``two_view`` (the self-supervised loop and its config),
   ``sweep`` (seeds x variants), ``chapter`` (a chapter's setup);
5. one file per method, none importing another: ``byol``, ``simclr``, ``moco``, ``simsiam``,
   ``supervised``, ``icn``, ``gedi``, ``ivae``;
6. a method's runs, scores and tasks, importing only its own method and below: ``gedi_scores``,
   ``ivae_digits`` (the digit task), ``ivae_spectra`` (the composition model and task).
"""
__version__ = "0.2.0"
