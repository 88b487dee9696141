"""The README's findings hold for the committed results (docs/protocol.md).

The block between the findings markers is generated from results/full/ (the
reference leaderboard) by
complexity_bench.findings; if a re-run changes a number or the direction of a
claim, this fails until the README is regenerated
(``python -m complexity_bench.findings results/full --readme``).
"""

from pathlib import Path

import pandas as pd

from complexity_bench.findings import END, START, findings, render

ROOT = Path(__file__).resolve().parents[1]


def test_readme_findings_match_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(START), readme.index(END) + len(END)
    assert readme[start:end] == render(ROOT / "results" / "full")


def test_a_claim_follows_the_numbers():
    """The sentence about a baseline flips with its interval, not with the text."""
    lb = pd.DataFrame([{"measure": "random", "section": "ranked", "rank": 3, "rank_lo": 2, "rank_hi": 4,
                        "headline": 0.52, "headline_lo": 0.47, "headline_hi": 0.57, "headline_tasks": "t",
                        "headline_n_tasks": 1}])
    runs = pd.DataFrame({"task": ["t"] * 4})
    by_task = pd.DataFrame(columns=["measure", "task"])
    assert "contains chance" in " ".join(findings(lb, by_task, runs))
    lb.loc[0, ["headline", "headline_lo", "headline_hi"]] = [0.62, 0.55, 0.70]
    text = " ".join(findings(lb, by_task, runs))
    assert "excludes chance" in text and "1 task (`t`), 4 runs" in text
