"""Every chapter follows the course's shape: listed in the table of contents, a Colab badge to
itself, one papermill parameters cell with a profile and no injected one, the same headings in the
same order, package code shown with show_source, tables through rep_utils.report, an install cell
that asks for this package version, a deterministic nbval-checked cell, a run record, exercises
with folded solutions, and committed outputs without errors."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]
# The one chapter shape (a chapter's other sections are ### under these)
SHAPE = ["Objectives", "Prerequisites and time", "The idea", "The math", "The code", "The run",
         "Results and the paper", "Failure modes", "Run record", "Summary", "Exercises"]


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
    # a value displayed only as its repr (e.g. a call's return value left as a cell's last line) is a stray output
    bare = [source(c)[-80:] for c in code for o in c.get("outputs", [])
            if o["output_type"] in ("execute_result", "display_data") and set(o["data"]) == {"text/plain"}]
    assert not bare, bare


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_name_no_machine_path(path):
    """Outputs and papermill metadata must not leak where a notebook was run."""
    found = re.findall(r"(?:/tmp|/work|/home|/root|/Users)/[\w.-]+", path.read_text())
    assert not found, found[:3]


def headings(path, level="## "):
    return [line[len(level):].strip() for c in cells(path) if c["cell_type"] == "markdown"
            for line in source(c).splitlines() if line.startswith(level)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_headings_are_the_course_shape(path):
    assert headings(path) == SHAPE
    title = headings(path, "# ")
    assert len(title) == 1 and re.match(rf"{int(path.name[:2])}\. ", title[0]), title


def test_setup_chapter_opens_and_closes_like_the_others():
    h = headings(NOTEBOOKS[0])
    assert h[:2] == SHAPE[:2] and h[-3:] == SHAPE[-3:], h


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_injected_parameters_cell(path):
    """papermill's injected cell would override the reader's profile on Colab: make targets strip it."""
    assert not [c for c in cells(path) if "injected-parameters" in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_is_shown_and_tables_are_built_by_the_package(path):
    code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    assert "inspect.getsource" not in code, "show package code with rep_utils.display.show_source"
    assert "|---" not in code and "Markdown(" not in code, "build tables with rep_utils.report.table"
    assert ".std(" not in code and "ttest" not in code, "spreads and paired tests: rep_utils.report (one convention)"
    assert "redirect_std" not in code, "progress bars are switched off by argument, not by redirecting stderr"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_asks_for_this_package_version(path):
    import tomllib

    import rep_utils

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    install = source(cells(path)[1])
    assert f'REP_UTILS, REPO = "{version}", ' in install and rep_utils.__version__ == version
    assert "RuntimeError" in install, "a failed install must say what to do"
