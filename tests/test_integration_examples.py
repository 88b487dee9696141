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


def test_readme_integration_snippets_compile_and_import_what_exists():
    import importlib
    import re

    text = (EXAMPLES.parent / "README.md").read_text()
    section = text.split("## Where you already train", 1)[1].split("\n## Add a measure", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    for code in blocks:
        compile(code, "README.md", "exec")
        assert 5 <= len(code.strip().splitlines()) <= 10
        for module, names in re.findall(r"^from (\S+) import (.+)$", code, re.M):
            extra(module.split(".")[0])
            imported = importlib.import_module(module)
            assert all(hasattr(imported, n.strip()) for n in names.split(",")), (module, names)
