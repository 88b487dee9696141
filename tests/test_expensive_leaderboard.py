"""The expensive tier's leaderboards on their named subsets: the default suite's
(docs/measures.md, "The expensive tier on the default suite") and the full suite's
(docs/protocol.md, "The expensive tier"). Each committed folder holds the subset its rule
names, every expensive measure has a value on it, and the generated block in its document
equals the one the folder gives."""

from pathlib import Path

import pandas as pd
import pytest

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.findings import END, START, render

ROOT = Path(__file__).resolve().parents[1]
# folder -> (the document holding its block, the subset's runs)
FOLDERS = {
    "expensive": ("docs/measures.md", 15),  # the default suite's 15 teacher-student runs
    "full-expensive": ("docs/protocol.md", 25),  # the full suite's 25 teacher-student runs
}


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_the_folder_is_the_named_subset_with_every_expensive_measure(folder):
    runs = pd.read_csv(ROOT / "results" / folder / "runs.csv")
    assert set(runs["task"]) == {"teacher-student"} and len(runs) == FOLDERS[folder][1]
    lb = pd.read_csv(ROOT / "results" / folder / "leaderboard.csv")
    expensive = [m.name for m in MEASURES if m.info.cost == "expensive"]
    assert sorted(expensive) == ["hessian-top-eigenvalue", "llc", "ntk", "pac-bayes-flatness"]
    values = lb.set_index("measure")["headline"]
    for name in expensive:
        rows = [k for k in values.index if k == name or k.startswith(name + "/")]
        assert rows and values[rows].notna().all(), name


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_docs_block_matches_the_folder(folder):
    text = (ROOT / FOLDERS[folder][0]).read_text()
    start, end = text.index(START), text.index(END) + len(END)
    # the block names its folder as the command was given: relative from the root, or absolute
    assert any(text[start:end] == render(path) for path in (Path("results") / folder, ROOT / "results" / folder))
