"""The examples and the README's "Use it on your own model" snippet run (shortened: a few dozen steps)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_grokking_example_runs_and_saves(tmp_path):
    out = _run("examples/grokking_tracker.py", "--steps", "12", "--out", str(tmp_path / "run"))
    assert "T_mem = " in out and "lmn" in out
    assert {"runs.csv", "traces.parquet", "measures.csv", "manifest.json"} <= {p.name for p in (tmp_path / "run").iterdir()}


def test_scoring_example_scores_three_runs(tmp_path):
    _run("examples/score_runs.py", "--steps", "12", "--out", str(tmp_path), "--measures", "l2,step",
         "--bootstrap", "10")
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 3
    from complexity_bench.scoring.scorer_baselines import NAMES  # the scorer adds its own baselines
    assert set(pd.read_csv(tmp_path / "leaderboard.csv")["measure"]) == {"l2", "step", *NAMES}


def test_readme_snippet_is_short_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves into runs/
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use it on your own model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) < 25
    assert "steps = 3000" in code
    exec(compile(code.replace("steps = 3000", "steps = 12"), "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "runs" / "wd2" / "traces.parquet").exists()
