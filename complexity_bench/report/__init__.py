"""``python -m complexity_bench report DIR``: one self-contained HTML page per results folder.

``write_report(dir)`` reads the files of a results folder (README, "Outputs")
and writes ``dir/report.html``: the leaderboard (intervals as bars, ranks with
ties, metadata on hover, sortable), a switch between the cross-task view and
each task (its leaderboard, runs, training curves with a selectable measure
beneath, measure vs test loss, pairwise probabilities when ``pairwise.csv``
exists) and a header from ``manifest.json``. Scripts, styles and figure data
are inline: the page makes no network request. ``run`` and ``score`` write it
at the end.
"""

from __future__ import annotations

from pathlib import Path

from complexity_bench.pipeline.store import atomic_write
from complexity_bench.report.data import read_results
from complexity_bench.report.page import render

REPORT_NAME = "report.html"


def write_report(results_dir: str | Path) -> Path:
    """Write ``results_dir/report.html`` (atomically) and return its path; UserError if not a results folder."""
    res = read_results(results_dir)
    path = Path(results_dir) / REPORT_NAME
    atomic_write(path, render(res).encode())
    return path
