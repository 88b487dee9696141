"""The expensive tier's default-suite leaderboard (docs/measures.md, "The expensive tier on the default
suite"): the committed folder holds the subset the rule names, every expensive measure has a value on
it, and docs/measures.md's generated block equals the one the folder gives."""

from pathlib import Path

import pandas as pd

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.findings import END, START, render

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "results" / "expensive"


def test_the_folder_is_the_named_subset_with_every_expensive_measure():
    runs = pd.read_csv(FOLDER / "runs.csv")
    assert set(runs["task"]) == {"teacher-student"} and len(runs) == 15
    lb = pd.read_csv(FOLDER / "leaderboard.csv")
    expensive = [m.name for m in MEASURES if m.info.cost == "expensive"]
    assert sorted(expensive) == ["hessian-top-eigenvalue", "llc", "ntk", "pac-bayes-flatness"]
    values = lb.set_index("measure")["headline"]
    for name in expensive:
        rows = [k for k in values.index if k == name or k.startswith(name + "/")]
        assert rows and values[rows].notna().all(), name


def test_docs_block_matches_the_folder():
    text = (ROOT / "docs" / "measures.md").read_text()
    start, end = text.index(START), text.index(END) + len(END)
    assert text[start:end] == render(Path("results/expensive")) or text[start:end] == render(FOLDER)
