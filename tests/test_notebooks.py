"""Every chapter follows the course's shape: listed in the table of contents, a Colab badge to
itself, one papermill parameters cell with a profile, a deterministic nbval-checked cell, a run
record, exercises with folded solutions, and committed outputs without errors."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def test_table_of_contents_lists_every_notebook():
    toc = set(re.findall(r"file:\s*(notebooks/\S+)", (ROOT / "_toc.yml").read_text()))
    assert toc == {f"notebooks/{p.stem}" for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_shape(path):
    cs = cells(path)
    text = "\n".join(source(c) for c in cs)
    assert "colab.research.google.com/github/" in text and f"notebooks/{path.name}" in text, "Colab badge"
    params = [c for c in cs if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "profile = None" in source(params[0])
    assert any("nbval-check-output" in c.get("metadata", {}).get("tags", []) for c in cs)
    assert "record.show()" in text, "run record"
    assert "## Exercises" in text and ":class: dropdown" in text, "exercises with folded solutions"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_are_a_clean_run(path):
    """The book shows the committed outputs: every code cell ran, none raised."""
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "a code cell was not executed"
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, [o["ename"] for o in errors]
    assert any("Run record" in "".join(o.get("text", "")) for c in code for o in c.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_name_no_machine_path(path):
    """Outputs and papermill metadata must not leak where a notebook was run."""
    found = re.findall(r"(?:/tmp|/work|/home|/root|/Users)/[\w.-]+", path.read_text())
    assert not found, found[:3]
