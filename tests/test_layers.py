"""The package's layers, as written in rep_utils/__init__.py: a module imports only from layers
below its own, never sideways (no method imports another method) or upwards."""
import ast
from pathlib import Path

import rep_utils

PACKAGE = Path(rep_utils.__file__).parent
LAYERS = [
    {"profiles", "checks", "optim", "augment", "models", "sgld", "spectra", "densities", "display", "report", "checkpoints"},
    {"data", "plots"},
    {"train", "evaluate"},
    {"monitor", "two_view", "sweep", "chapter"},
    {"byol", "simclr", "moco", "simsiam", "supervised", "icn", "gedi", "ivae"},
    {"gedi_scores", "ivae_digits", "ivae_spectra"},
]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            yield from ([node.module.split(".")[0]] if node.module else [a.name for a in node.names])


def test_every_module_has_a_layer_and_imports_only_from_below():
    layer = {m: i for i, names in enumerate(LAYERS) for m in names}
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(layer), "a module is missing from LAYERS (or LAYERS names one that is gone)"
    bad = [f"{m} (layer {layer[m]}) imports {d} (layer {layer[d]})"
           for m in sorted(modules) for d in _imports(PACKAGE / f"{m}.py")
           if d != "__version__" and layer[d] >= layer[m]]
    assert not bad, bad


def test_the_docstring_states_the_same_layers():
    doc = " ".join(rep_utils.__doc__.split())
    for names in LAYERS:
        assert all(f"``{m}``" in doc for m in names)


def test_a_methods_runs_and_tasks_import_only_that_method():
    methods = LAYERS[4]
    for m in LAYERS[5]:
        own = m.split("_")[0]
        others = {d for d in _imports(PACKAGE / f"{m}.py") if d in methods} - {own}
        assert own in methods and not others, f"{m} imports the methods {sorted(others)}"
