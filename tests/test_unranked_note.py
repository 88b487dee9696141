"""When nothing is ranked, `run` and `score` say why on screen (pipeline/unranked.py)."""

import shutil
from pathlib import Path

from complexity_bench.cli import main
from complexity_bench.pipeline.unranked import unranked_note

ROOT = Path(__file__).resolve().parents[1]


def test_score_of_a_one_run_suite_says_why_nothing_is_ranked(results_folder, tmp_path, capsys):
    out = tmp_path / "smoke"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store"))
    assert main(["score", str(out), "--bootstrap", "0", "--no-figures"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "no measure is ranked" in line]
    assert len(err) == 1
    # the headline's own reasons, from the leaderboard, for the one task
    from complexity_bench.scoring.config import HEADLINE

    assert "xor-mlp" in err[0] and all(f"{part}:" in err[0] for part in HEADLINE)


def test_no_note_when_measures_are_ranked():
    assert unranked_note(ROOT / "results" / "leaderboard.csv") is None


def test_few_replicates_are_explained_on_screen_and_in_the_report(results_folder, tmp_path, capsys):
    from complexity_bench.report.page import _board_note
    import pandas as pd

    out = tmp_path / "smoke"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store"))
    assert main(["score", str(out), "--bootstrap", "1", "--no-figures"]) == 0
    assert "need not contain the point estimate" in capsys.readouterr().err
    note = _board_note(pd.DataFrame({"rank": [1], "rank_lo": [1], "rank_hi": [2]}))
    assert "can sit below that interval" in note and "need not contain" in note
