"""The instability question's generated block (complexity_bench/instability_findings.py): cells read from
a hand-written results folder whose answer is known, the undefined case on a real smoke run
(conftest's ``results_folder``), writing README.md and docs/protocol.md together, and the committed
copies against results/long."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from complexity_bench.instability_findings import END, START, main, render

ROOT = Path(__file__).resolve().parents[1]
NAN = np.nan
# (measure, task) -> (in_auroc, lo, hi)
IN = {("step", "a"): (0.70, 0.60, 0.80), ("recipe-wd", "a"): (0.50, 0.40, 0.60), ("recipe-oracle", "a"): (NAN,) * 3,
      ("lmn", "a"): (0.81, 0.74, 0.88), ("l2", "a"): (0.65, NAN, NAN), ("step", "b"): (NAN,) * 3,
      ("recipe-wd", "b"): (NAN,) * 3, ("recipe-oracle", "b"): (NAN,) * 3, ("lmn", "b"): (NAN,) * 3,
      ("l2", "b"): (0.55, 0.45, 0.66)}


def _folder(root: Path, values=IN, stop_factor=NAN) -> Path:
    """Task a: 4 runs, 3 generalised, 2 spiked, 1 collapsed; task b: 2 runs, 1 generalised, 1 spiked."""
    root.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame({
        "run_id": ["a0", "a1", "a2", "a3", "b0", "b1"], "task": ["a"] * 4 + ["b"] * 2,
        "t_mem": [100.0] * 6, "t_gen": [1000.0, 1200.0, 900.0, NAN, 800.0, NAN],
        "censored": [False, False, False, True, False, True], "t_spike": [5000.0, NAN, 7000.0, NAN, 3000.0, NAN],
        "t_collapse": [NAN, 6000.0, NAN, NAN, NAN, NAN], "stop_factor": stop_factor, "budget": 30000,
    })
    runs.to_csv(root / "runs.csv", index=False)
    rows = [{"measure": m, "task": t, "in_auroc": v[0], "in_auroc_lo": v[1], "in_auroc_hi": v[2],
             "nan_reasons": "" if v[0] == v[0] else "in_auroc: only one label class (x)"}
            for (m, t), v in values.items()]
    pd.DataFrame(rows).to_csv(root / "leaderboard_by_task.csv", index=False)
    return root


def test_per_task_counts_and_the_baselines_beside_each_measure(tmp_path):
    block = render(_folder(tmp_path / "long"), label="results/long")
    lines = block.splitlines()
    assert lines[0] == START and lines[-1] == END
    assert "Rests on the runs in `results/long` (6 runs, 2 tasks)" in lines[1]
    assert "| `a` | 4 | 3 | 2 | 1 | 0.70 [0.60, 0.80] | 0.50 [0.40, 0.60] | n/a | 2 of 2 | not tested |" in lines
    assert "| `b` | 2 | 1 | 1 | 0 | n/a | n/a | n/a | 1 of 2 | not tested |" in lines
    table = [line for line in lines if line.startswith("| `") and "|---" not in line][2:]
    assert table == ["| `step` (clock) | 0.70 [0.60, 0.80] | n/a |",
                     "| `recipe-wd` (recipe) | 0.50 [0.40, 0.60] | n/a |",
                     "| `recipe-oracle` (recipe) | n/a | n/a |",
                     "| `l2` | 0.65 | 0.55 [0.45, 0.66] |",  # no interval in the CSV: none shown
                     "| `lmn` | 0.81 [0.74, 0.88] | n/a |"]
    assert "Measures that beat the clock across tasks: not tested" in block and "`in_auroc` is undefined" not in block
    assert "- `recipe-oracle` (recipe) has no `in_auroc` on any task (only one label class (x))." in lines
    assert "`recipe-wd` (recipe) has no" not in block  # defined on task a
    assert "their `in_auroc` is 0.5 by construction" in block


def test_the_clock_column_and_line_read_the_paired_rule(tmp_path):
    """A folder scored with the rule: the per-task column names the measures with in_beats_step true, out
    of those tested; the across-task line names pairwise.csv's `all` winners."""
    root = _folder(tmp_path / "long")
    by_task = pd.read_csv(root / "leaderboard_by_task.csv")
    tested = {("lmn", "a"): (0.99, True), ("l2", "a"): (0.2, False)}
    by_task["in_p_beats_step"] = [tested.get((m, t), (NAN, None))[0] for m, t in zip(by_task["measure"], by_task["task"])]
    by_task["in_beats_step"] = [tested.get((m, t), (NAN, None))[1] for m, t in zip(by_task["measure"], by_task["task"])]
    by_task.to_csv(root / "leaderboard_by_task.csv", index=False)
    pd.DataFrame({"scope": ["all", "all", "a"], "score": "in_auroc", "measure_a": ["lmn", "l2", "lmn"],
                  "measure_b": "step", "p_a_beats_b": [0.99, 0.2, 0.99], "n_boot": 100,
                  "a_beats_b": [True, False, True]}).to_csv(root / "pairwise.csv", index=False)
    block = render(root)
    assert "| 2 of 2 | 1 of 2: `lmn` |" in block
    assert "| 1 of 2 | 0 of 0 |" in block  # task b: no measure was compared with an undefined clock
    assert "Holm over the 2 measures compared at 5%; docs/protocol.md, \"Beating the clock\"): `lmn`." in block


def test_every_value_undefined_says_why_and_drops_the_measure_table(tmp_path):
    block = render(_folder(tmp_path, {k: (NAN,) * 3 for k in IN}, stop_factor=1.5))
    assert "- `in_auroc` is undefined: this suite stops each run early at 1.5 x T_gen" in block
    assert "| measure |" not in block


def test_a_real_smoke_run_is_undefined_with_its_reason(results_folder):
    runs = pd.read_csv(results_folder / "runs.csv")
    block = render(results_folder)
    n_spike, n_collapse = runs["t_spike"].notna().sum(), runs["t_collapse"].notna().sum()
    assert f"| `xor-mlp` | {len(runs)} | {runs['t_gen'].notna().sum()} | {n_spike} | {n_collapse} |" in block
    assert runs["t_gen"].isna().all()  # the smoke run is too short to generalise
    assert "`in_auroc` is undefined: no run generalised, and both events are looked for after T_gen only." in block


def test_readme_writes_both_files_or_neither(tmp_path, monkeypatch, capsys):
    results = _folder(tmp_path / "long")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    marked = f"intro\n{START}\nold\n{END}\nrest\n"
    (tmp_path / "README.md").write_text(marked)
    (tmp_path / "docs" / "protocol.md").write_text("no markers here\n")
    assert main([str(results), "--readme"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "docs/protocol.md" in err[0] and "markers missing" in err[0]
    assert (tmp_path / "README.md").read_text() == marked  # nothing written when one file cannot take the block
    (tmp_path / "docs" / "protocol.md").write_text(marked)
    assert main([str(results), "--readme"]) == 0
    for f in ("README.md", "docs/protocol.md"):
        text = (tmp_path / f).read_text()
        assert text.startswith("intro\n") and text.endswith("\nrest\n") and "| `a` | 4 | 3 | 2 | 1 |" in text


def test_a_missing_results_folder_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "runs.csv" in err[0]


@pytest.mark.parametrize("doc", ["README.md", "docs/protocol.md"])
def test_committed_block_matches_results_long(doc):
    text = (ROOT / doc).read_text()
    start, end = text.index(START), text.index(END) + len(END)
    assert text[start:end] == render(ROOT / "results" / "long", label="results/long")


def test_the_committed_docs_hold_the_markers():
    for doc in ("README.md", "docs/protocol.md"):
        text = (ROOT / doc).read_text()
        assert text.count(START) == 1 and text.count(END) == 1, doc


def test_a_baseline_missing_from_the_folder_is_a_dash(tmp_path):
    block = render(_folder(tmp_path, {k: v for k, v in IN.items() if k[0] != "step"}))
    assert "| `a` | 4 | 3 | 2 | 1 | — | 0.50 [0.40, 0.60] | n/a | 2 of 2 | not tested |" in block
    assert "(clock) |" not in block.split("| measure |")[1]
