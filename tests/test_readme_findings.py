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


def _row(measure, section="ranked", rank=1.0, headline=0.52, lo=0.47, hi=0.57, **extra):
    return {"measure": measure, "section": section, "rank": rank, "rank_lo": 1, "rank_hi": 4, "headline": headline,
            "headline_lo": lo, "headline_hi": hi, "headline_tasks": "t", "headline_n_tasks": 1,
            "headline_n_boot": 900, "recipe_headline": 0.8, "recipe_headline_lo": 0.7, "recipe_headline_hi": 0.9,
            "fc_cindex": 0.8, "fc_cindex_lo": 0.75, "fc_cindex_hi": 0.85, "ctl_auroc": 0.6, "ctl_auroc_lo": 0.55,
            "ctl_auroc_hi": 0.65, **extra}


def test_a_claim_follows_the_numbers():
    """The sentence about a baseline flips with its interval, not with the text."""
    lb = pd.DataFrame([_row("random", rank=3)])
    runs = pd.DataFrame({"task": ["t"] * 4, "seed": [0, 1, 2, 3]})
    by_task = pd.DataFrame(columns=["measure", "task"])
    assert "contains chance" in " ".join(findings(lb, by_task, runs))
    lb.loc[0, ["headline", "headline_lo", "headline_hi"]] = [0.62, 0.55, 0.70]
    text = " ".join(findings(lb, by_task, runs))
    assert "excludes chance" in text and "1 task (`t`), 4 runs" in text
    assert "`random` shares rank 1" not in text
    lb.loc[0, "rank"] = 1
    assert "`random` shares rank 1: with 4 seeds per configuration" in " ".join(findings(lb, by_task, runs))


def test_the_recipe_baselines_stand_beside_the_headline():
    """A measure is named as beating the recipe only when its recipe-level forecast interval clears both
    recipe baselines; a headline-undefined baseline is said to be undefined, not ranked."""
    nan = float("nan")
    base = dict(section="unranked", rank=nan, headline=nan, lo=nan, hi=nan)
    lb = pd.DataFrame([_row("m", fc_cindex_lo=0.91), _row("recipe-wd", **base, fc_cindex=0.82),
                       _row("recipe-oracle", **{**base, "section": "not causal"}, fc_cindex=0.9),
                       _row("step", **base)])
    runs = pd.DataFrame({"task": ["t"] * 4, "seed": [0, 1, 2, 3]})
    text = " ".join(findings(lb, pd.DataFrame(columns=["measure", "task"]), runs))
    assert "above both baselines' (0.90): `m`." in text
    assert "`step` (the clock) is undefined on the headline" in text
    lb.loc[0, "fc_cindex_lo"] = 0.89
    assert "above both baselines' (0.90): none." in " ".join(findings(lb, pd.DataFrame(columns=["measure", "task"]), runs))


def test_committed_results_are_scored_under_the_current_protocol():
    """manifest.json records the protocol its CSVs were scored under; the committed folders are re-scored
    (``python -m complexity_bench score DIR``) whenever the protocol changes."""
    import json

    from complexity_bench.scoring import PROTOCOL_VERSION

    assert PROTOCOL_VERSION == "3"
    for folder in (ROOT / "results", ROOT / "results" / "full"):
        assert json.loads((folder / "manifest.json").read_text())["protocol_version"] == PROTOCOL_VERSION, folder
        assert "cf_cindex" in pd.read_csv(folder / "leaderboard.csv", nrows=1).columns, folder
