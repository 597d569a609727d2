"""The book's Sphinx extension: progress-bar clean-up and the execution-times rows."""
import json
import sys
from pathlib import Path

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
