"""examples/lightning_grokking.py and examples/hf_grokking.py run (shortened: 12 steps, one measure).

Run in this process (runpy), so the frameworks are imported once for the test session."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pandas as pd

from helpers.extras import extra

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, monkeypatch, *args: str) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples import grokking_tracker's model and data
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def saved_steps(out: Path) -> list[int]:
    (traces,) = out.glob("**/complexity/*/traces.parquet")
    return sorted(set(pd.read_parquet(traces)["step"]))


def test_lightning_example_runs(tmp_path, monkeypatch, capsys):
    extra("lightning")
    run_example("lightning_grokking.py", monkeypatch, "--steps", "12", "--measures", "l2", "--out", str(tmp_path))
    assert "stopped at step 12" in capsys.readouterr().out
    assert saved_steps(tmp_path) == list(range(13))
    (metrics,) = tmp_path.glob("csv/*/metrics.csv")
    assert pd.read_csv(metrics)["complexity/l2"].notna().sum() == 13


def test_hf_example_runs(tmp_path, monkeypatch, capsys):
    extra("transformers")
    run_example("hf_grokking.py", monkeypatch, "--steps", "12", "--measures", "l2", "--out", str(tmp_path))
    out = capsys.readouterr().out
    assert "stopped at step 12" in out and "13 log-history entries with measures" in out
    assert saved_steps(tmp_path) == list(range(13))
