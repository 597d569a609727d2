"""The book's Sphinx extension (progress-bar clean-up, execution-times rows) and its one repository URL."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import course  # noqa: E402


def test_progress_bar_redraws_collapse_to_the_final_state():
    outs = [{"output_type": "stream", "name": "stderr", "text": ["\r", "bar:   0%| 0/4"]},
            {"output_type": "stream", "name": "stderr", "text": ["\r", "bar:  50%| 2/4"]},
            {"output_type": "stream", "name": "stderr", "text": ["\r", "bar: 100%| 4/4\n"]},
            {"output_type": "stream", "name": "stdout", "text": ["epoch 1\n", "epoch 2\n"]},
            {"output_type": "display_data", "data": {}, "metadata": {}}]
    got = course.collapse_streams(outs)
    assert [o["output_type"] for o in got] == ["stream", "stream", "display_data"]
    assert got[0]["text"] == "bar: 100%| 4/4\n" and got[1]["text"] == "epoch 1\nepoch 2\n"


def test_execution_row_reads_papermill_and_the_run_record(tmp_path):
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout",
         "text": ["Run record\n", "  profile      colab\n", "  device       cuda (Tesla T4)\n"]}]}],
          "metadata": {"papermill": {"start_time": "2026-01-02T03:04:05.6", "duration": 612.4}}}
    path = tmp_path / "01_demo.ipynb"
    path.write_text(json.dumps(nb))
    assert course.notebook_row(path) == ["01_demo", "colab", "cuda (Tesla T4)", "2026-01-02 03:04", "612"]


def repository_problems(root, url=None, branch=None):
    """Where the notebooks' badges and install cells (and CITATION.cff) disagree with the repository
    in root/_config.yml, or with the url/branch given instead."""
    repository = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    url, branch = url or repository["url"], branch or str(repository["branch"])
    slug = url.removeprefix("https://github.com/")
    problems = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
        badges = re.findall(r"colab\.research\.google\.com/github/[^)\s\"]+", text)
        repos = re.findall(r'REP_UTILS, REPO = "[^"]*", "([^"]*)"', text)
        want = f"colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{path.name}"
        if not badges or any(b != want for b in badges):
            problems.append(f"{path.name}: Colab badge {badges}, expected {want}")
        if not repos or any(r != url for r in repos):
            problems.append(f"{path.name}: install cell REPO {repos}, expected {url}")
    citation = root / "CITATION.cff"
    if citation.exists() and yaml.safe_load(citation.read_text())["repository-code"] != url:
        problems.append(f"CITATION.cff: repository-code is not {url}")
    return problems


def test_notebooks_agree_with_the_repository_in_config():
    assert repository_problems(ROOT) == []


def test_set_repository_rewrites_every_copy_and_the_check_can_fail(tmp_path):
    for name in ("_config.yml", "README.md", "CITATION.cff"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    original = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    subprocess.run([sys.executable, str(ROOT / "book" / "set_repository.py"), "someone/fork",
                    "--root", str(tmp_path)], check=True, capture_output=True)
    config = (tmp_path / "_config.yml").read_text()
    assert yaml.safe_load(config)["repository"]["url"] == "https://github.com/someone/fork"
    slug = original.removeprefix("https://github.com/")
    assert config.replace("someone/fork", slug) == (ROOT / "_config.yml").read_text()  # comments kept
    assert repository_problems(tmp_path) == []
    assert repository_problems(tmp_path, url=original) != []
    assert repository_problems(ROOT, url="https://github.com/someone/fork") != []
