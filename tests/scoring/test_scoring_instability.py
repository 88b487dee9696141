"""The instability question (scoring/instability.py) on hand-made runs: exact AUROCs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score
from scoring_helpers import measures_table, run_row, trace_rows

STEPS = [0, 10, 100, 200, 400, 600, 800, 1000, 1200]
# run a: T_mem 10, T_gen 100, a spike at 1,000; run b: generalised, no event, trained to 2,000
A = [9.0, 8.0, 4.0, 3.9, 3.5, 2.0, 1.0, 5.0, 5.0]
B = [9.0, 8.0, 4.0, 3.8, 1.5, 3.7, 4.0, 3.95, 4.0]


def runs_frame(**extra) -> pd.DataFrame:
    rows = [run_row("a", 10, 100, 2000, seed=0, wd=0.1), run_row("b", 10, 100, 2000, seed=1, wd=0.1)]
    out = pd.DataFrame(rows).assign(last_step=2000)
    for k, v in extra.items():
        out[k] = v
    return out


def scored(runs: pd.DataFrame, a=A, b=B) -> pd.DataFrame:
    traces = pd.concat([trace_rows("a", "m", STEPS, a), trace_rows("b", "m", STEPS, b),
                        trace_rows("a", "step", STEPS, STEPS), trace_rows("b", "step", STEPS, STEPS)])
    tables = score(runs, traces, measures_table(("m", 1), ("step", -1)), ScoreConfig(n_boot=0, scorer_baselines=False))
    return tables.by_task.set_index("measure")


def test_auroc_of_the_fall_since_t_gen_for_an_event_within_the_horizon():
    by = scored(runs_frame(t_spike=[1000.0, np.nan], t_collapse=[np.nan, np.nan]))
    # q(t) = (s(100) - s(t)) / |s(100) - s(10)| = (4 - s) / 4. Scored: a's 200-800 (before its event:
    # positive where 1000 <= 2t, i.e. 600 and 800), b's 200-1000 (2t <= 2000; all negative).
    # positives q = 0.5, 0.75; negatives 0.025, 0.125 (a) and 0.05, 0.625, 0.075, 0, 0.0125 (b):
    # 0.75 beats all 7, 0.5 beats 6 of 7 -> 13/14.
    assert by.loc["m", "n_ckpt_in"] == 9 and by.loc["m", "n_runs_in"] == 2
    assert by.loc["m", "in_auroc"] == pytest.approx(13 / 14)
    # the clock: q = (t - 100) / 90. 600 beats a's and b's 200, 400, ties b's 600, loses 800, 1000 (4.5 of 7);
    # 800 beats those four and b's 600, ties b's 800, loses 1000 (5.5 of 7) -> 10/14
    assert by.loc["step", "in_auroc"] == pytest.approx(10 / 14)


def test_the_earlier_event_counts_and_a_collapse_is_an_event():
    by = scored(runs_frame(t_spike=[np.nan, np.nan], t_collapse=[1000.0, np.nan]))
    assert by.loc["m", "in_auroc"] == pytest.approx(13 / 14)
    by = scored(runs_frame(t_spike=[1000.0, np.nan], t_collapse=[700.0, np.nan]))  # E = 700: a's 200-600 scored
    # positives (700 <= 2t): a's 400, 600 -> q 0.125, 0.5; negatives a's 200 (0.025) and b's five as above
    # 0.5 beats 5 of 6 (not 0.625); 0.125 beats 0.025, 0.05, 0.075, 0, 0.0125 -> 10/12
    assert by.loc["m", "n_ckpt_in"] == 8
    assert by.loc["m", "in_auroc"] == pytest.approx(10 / 12)


def test_undefined_without_event_columns_or_without_a_watched_checkpoint():
    by = scored(runs_frame())
    assert np.isnan(by.loc["m", "in_auroc"]) and "t_spike" in by.loc["m", "nan_reasons"]
    early = runs_frame(t_spike=[np.nan, np.nan], t_collapse=[np.nan, np.nan])
    early["last_step"] = 150  # stopped at 1.5 x T_gen: no label is known after T_gen
    by = scored(early)
    assert np.isnan(by.loc["m", "in_auroc"]) and "long suite" in by.loc["m", "nan_reasons"]


@pytest.mark.parametrize("wds, expected", [((0.1, 1.0), 0.5), ((0.1, 0.1), None)])
def test_the_recipe_baselines_are_tied_at_every_checkpoint(wds, expected):
    """Constant within a run, a recipe baseline never falls after T_gen: q(t) = 0 at every checkpoint, so its
    in_auroc is 0.5 (every pair tied) when runs differ in recipe, and undefined (no variance) when they do not
    (docs/protocol.md, "The instability question")."""
    runs = pd.DataFrame([run_row("a", 10, 100, 2000, seed=0, weight_decay=wds[0], lr=1e-3),
                         run_row("b", 10, 100, 2000, seed=1, weight_decay=wds[1], lr=1e-3)])
    runs = runs.assign(last_step=2000, t_spike=[1000.0, np.nan], t_collapse=np.nan)
    traces = pd.concat([trace_rows("a", "m", STEPS, A), trace_rows("b", "m", STEPS, B)])
    by = score(runs, traces, measures_table(("m", 1)), ScoreConfig(n_boot=0)).by_task.set_index("measure")
    assert by.loc["m", "in_auroc"] == pytest.approx(13 / 14)  # the same checkpoints are scored
    if expected is None:  # one recipe: both baselines are one value on every checkpoint
        for baseline in ("recipe-wd", "recipe-oracle"):
            assert np.isnan(by.loc[baseline, "in_auroc"]) and "constant" in by.loc[baseline, "nan_reasons"]
    else:  # recipe-wd differs between the runs (recipe-oracle does not: both have the same delay)
        assert by.loc["recipe-wd", "in_auroc"] == expected
