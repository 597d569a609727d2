"""The book's Sphinx extension.

- Directive ``execution-times``: a table of how each committed notebook was executed. The book
  does not execute notebooks, so Jupyter Book's own execution table would be empty; this reads,
  from each notebook, papermill's metadata (start, duration) and the run record it printed.
- Progress bars: a notebook stores each redraw of a text progress bar as its own output; before
  a notebook is parsed, consecutive stream outputs are merged and carriage returns applied, so
  the page shows each bar's final state, as Jupyter does.
- Bibliography labels in the author-year style the text cites in ("Grill et al. 2020"), instead of
  pybtex's alpha labels ("GSA+20").
- The page style ``static/course.css``: code and outputs wrap at the column instead of scrolling;
  ``static/course.js``: each output figure links to its full-size image (click to enlarge).
- MathJax from a local copy (``book/browser``, installed by ``make``) copied into the site, so math
  renders offline and the site loads nothing from a CDN; without the copy, Sphinx's CDN default stays.
"""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

STATIC = Path(__file__).resolve().parent / "static"
MATHJAX = Path(__file__).resolve().parents[1] / "browser" / "node_modules" / "mathjax" / "es5"
logger = logging.getLogger(__name__)

COLUMNS = ["Notebook", "Profile", "Device", "Executed", "Notebook time (s)"]


def _record_field(nb: dict, key: str) -> str:
    """A field of the printed run record ("  key  value" lines under "Run record")."""
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if "Run record" in text:
                for line in text.splitlines():
                    parts = line.split(None, 1)
                    if len(parts) == 2 and parts[0] == key:
                        return parts[1]
    return "?"


def notebook_row(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    pm = nb.get("metadata", {}).get("papermill", {})
    duration = pm.get("duration")
    return [path.stem, _record_field(nb, "profile"), _record_field(nb, "device"),
            (pm.get("start_time") or "?")[:16].replace("T", " "),
            f"{duration:.0f}" if duration is not None else "?"]


class ExecutionTimes(SphinxDirective):
    def run(self):
        root = Path(self.env.srcdir)
        docs = [d for d in self.env.found_docs if d.startswith("notebooks/")]
        rows = [notebook_row(root / f"{d}.ipynb") for d in sorted(docs) if (root / f"{d}.ipynb").is_file()]
        table, tgroup = nodes.table(), nodes.tgroup(cols=len(COLUMNS))
        table += tgroup
        tgroup += [nodes.colspec(colwidth=1) for _ in COLUMNS]
        head, body = nodes.thead(), nodes.tbody()
        tgroup += [head, body]
        for target, cells in [(head, COLUMNS)] + [(body, r) for r in rows]:
            row = nodes.row()
            for c in cells:
                row += nodes.entry("", nodes.paragraph(text=c))
            target += row
        return [table]


def _apply_carriage_returns(text: str) -> str:
    return "\n".join(re.sub(r".*\r(?=.)", "", line) for line in text.split("\n"))


def collapse_streams(outputs: list[dict]) -> list[dict]:
    merged: list[dict] = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev and prev.get("output_type") == "stream"
                and prev["name"] == out["name"]):
            prev["text"] = "".join(prev["text"]) + "".join(out["text"])
        else:
            merged.append(dict(out))
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = _apply_carriage_returns("".join(out["text"]))
    return merged


def _clean_notebook(app, docname, source):
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    nb = json.loads(source[0])
    for cell in nb["cells"]:
        if "outputs" in cell:
            cell["outputs"] = collapse_streams(cell["outputs"])
    source[0] = json.dumps(nb)


def _surname(person) -> str:
    return re.sub(r"[{}]", "", " ".join(person.prelast_names + person.last_names))


def author_year(entry) -> str:
    people = entry.persons.get("author", [])
    names = [_surname(p) for p in people]
    who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
    return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """"Chen et al. 2020a", "Chen et al. 2020b": a letter only where two entries would share a label."""

    def format_labels(self, sorted_entries):
        labels = [author_year(e) for e in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            seen[label] += 1
            yield label + (chr(ord("a") + seen[label] - 1) if count[label] > 1 else "")


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "course_author_year"
    default_sorting_style = "author_year_title"


def _local_mathjax(app, config):
    if (MATHJAX / "tex-chtml.js").is_file():
        config.mathjax_path = "mathjax/tex-chtml.js"  # relative: served from the site's _static
    else:
        logger.info("MathJax: no local copy in book/browser (make installs it); the CDN is used")


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html" and app.config.mathjax_path == "mathjax/tex-chtml.js":
        shutil.copytree(MATHJAX, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def _add_style(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", _add_style)
    app.add_css_file("course.css")
    app.add_js_file("course.js")
    register_plugin("pybtex.style.labels", "course_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "course_author_year", AuthorYearStyle)
    app.add_directive("execution-times", ExecutionTimes)
    app.connect("source-read", _clean_notebook)
    app.connect("config-inited", _local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True}
