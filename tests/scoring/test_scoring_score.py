"""score() end to end on synthetic runs with known curves."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import HEADLINE, SCORES, ScoreConfig, score
from complexity_bench.scoring.scorer_baselines import NAMES as SCORER_BASELINES
from complexity_bench.scoring.forecast import score_forecast
from complexity_bench.scoring.prepare import TaskRuns, extract_series
from complexity_bench.scoring.synthetic import make_synthetic

from scoring_helpers import measures_table, run_row, trace_rows


@pytest.fixture(scope="module")
def synth():
    runs, traces, measures = make_synthetic(n_seeds=2)
    return runs, traces, measures, score(runs, traces, measures, ScoreConfig(n_boot=40))


def test_shape_and_columns(synth):
    runs, traces, measures, t = synth
    assert len(t.by_task) == len(set(measures.measure) | set(SCORER_BASELINES)) * runs.task.nunique()
    for c in SCORES:
        for col in (c, f"{c}_lo", f"{c}_hi"):
            assert col in t.by_task and col in t.leaderboard
    for c in ("measure_version", "direction", "causal", "baseline", "needs", "cost", "stochastic",
              "applies_to", "n_runs", "n_ckpt", "n_missing", "nan_reasons", "section", "rank", "rank_lo",
              "rank_hi", "headline", "headline_lo", "headline_hi"):
        assert c in t.leaderboard and c in t.by_task, c
    assert set(t.leaderboard.measure) == set(measures.measure) | set(SCORER_BASELINES)
    assert (t.by_task["bootstrap"] == "seeds crossed with configurations").all()
    assert list(t.pairwise.columns) == ["scope", "score", "measure_a", "measure_b", "p_a_beats_b", "n_boot",
                                        "a_beats_b"]
    lo, hi = t.by_task["trk_rho_lo"], t.by_task["trk_rho_hi"]
    assert (lo[lo.notna()] <= hi[lo.notna()]).all()


def test_ranking_and_baselines(synth):
    *_, t = synth
    lb = t.leaderboard.set_index("measure")
    assert np.isnan(lb.loc["oracle-test-loss", "rank"])  # non-causal: shown, not ranked
    assert lb.loc["oracle-test-loss", "section"] == "not causal"
    assert lb.loc["oracle-test-loss", "trk_rho"] == 1.0
    assert lb.loc["good", "rank"] == 1.0 and lb.loc["good", "rank_hi"] == 1.0
    assert lb.loc["step", "trk_rho_run_median"] == 1.0
    assert abs(lb.loc["random", "trk_rho"]) < 0.3
    assert lb.loc["recipe-oracle", "section"] == "not causal"
    # a function of the recipe and the clock is undefined on the headline: listed, never ranked
    assert (lb.loc[["step", "recipe-wd"], "section"] == "unranked").all()
    # rank = 1 + the number of measures that beat it under the familywise (Holm) rule
    p = t.pairwise[(t.pairwise.scope == "all") & (t.pairwise.score == "headline")]
    for m in lb.index[lb.section == "ranked"]:
        beaten_by = int(p[p.measure_b == m].a_beats_b.sum())
        assert lb.loc[m, "rank"] == 1 + beaten_by, m
        assert lb.loc[m, "rank_lo"] <= lb.loc[m, "rank_hi"]


def test_bootstrap_is_seeded(synth):
    runs, traces, measures, t = synth
    again = score(runs, traces, measures, ScoreConfig(n_boot=40))
    pd.testing.assert_frame_equal(t.leaderboard, again.leaderboard)
    other = score(runs, traces, measures, ScoreConfig(n_boot=40, seed=1))
    assert not np.allclose(other.by_task["trk_rho_lo"], t.by_task["trk_rho_lo"], equal_nan=True)


def test_missing_values_are_counted_and_scored():
    runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=2, missing=0.2, seed=3)
    t = score(runs, traces, measures, ScoreConfig(n_boot=0)).by_task.set_index("measure")
    expected = traces.groupby("measure")["value"].apply(lambda v: int(v.isna().sum()))
    for m in set(measures.measure) - set(SCORER_BASELINES):  # the scorer's own baselines replace stored rows
        assert t.loc[m, "n_missing"] == expected[m] > 0
        assert t.loc[m, "n_ckpt"] + t.loc[m, "n_missing"] == (traces.measure == m).sum()
    assert np.isfinite(t.loc["good", ["trk_rho", "ew_auroc", "fc_cindex"]].astype(float)).all()


def test_all_missing_and_absent_measures_get_rows_with_reasons():
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1000), run_row("B", 10.0, None, 1000)])
    tr = trace_rows("A", "broken", [0, 10, 50], [np.nan] * 3, errors=["timeout"] * 3)
    t = score(runs, tr, measures_table(("broken", 1), ("unused", 1)), ScoreConfig(n_boot=5)).by_task
    t = t.set_index("measure")
    assert t.loc["broken", "n_missing"] == 3
    assert "every value is missing" in t.loc["broken", "nan_reasons"]
    assert "no trace rows" in t.loc["unused", "nan_reasons"]
    assert t[list(SCORES)].isna().all().all()


def test_sub_measures_inherit_parent_metadata():
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1000)])
    tr = trace_rows("A", "lmn/layer1", [0, 10, 50, 100], [1, 5, 3, 1])
    t = score(runs, tr, measures_table(("lmn", -1)), ScoreConfig(n_boot=0)).by_task.set_index("measure")
    assert t.loc["lmn/layer1", "direction"] == -1


def test_unknown_measure_is_a_clear_error():
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1000)])
    with pytest.raises(ValueError, match="not in the measures table"):
        score(runs, trace_rows("A", "ghost", [0, 1], [1, 2]), measures_table(("m", 1)))


def test_forecast_hand_values():
    # Delays (t_mem 10): A 1.0, B 2.0, C censored at 3.0 (budget 1e4), D 0.5. Feature at T_mem
    # = value at the last checkpoint <= T_mem (step 5 when T_mem = 10).
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1e4), run_row("B", 10.0, 1000.0, 1e4),
                         run_row("C", 10.0, None, 1e4), run_row("D", 10.0, 10 * 10**0.5, 1e4)])
    vals = {"A": 2.0, "B": 1.0, "C": 4.0, "D": 0.0}
    tr = pd.concat([trace_rows(r, "m", [0, 5, 20], [0.0, v, 99.0]) for r, v in vals.items()])
    truns = TaskRuns.from_frame(runs)
    series = extract_series(tr, truns, 1)
    assert list(series.s_mem) == [2.0, 1.0, 4.0, 0.0]  # step 5, not the later 99
    res = score_forecast(series, truns, np.ones((0, 4)), ScoreConfig(n_boot=0))
    # tau_b on uncensored A, B, D: x 2, 1, 0 vs D 1, 2, 0.5: pairs AB disc, AD conc, BD conc -> 1/3.
    assert res.values["fc_tau"] == pytest.approx(1 / 3)
    # Harrell: comparable (i shorter & observed): D<A, D<B, D<C, A<B, A<C, B<C -> x ordered?
    # D(0)<A(2) yes, D<B(1) yes, D<C(4) yes, A(2)<B(1) no, A<C yes, B<C yes -> 5/6.
    assert res.values["fc_cindex"] == pytest.approx(5 / 6)


def test_headline_is_the_two_prediction_questions_within_a_configuration():
    assert HEADLINE == ("cw_auroc", "cf_cindex")


def test_a_measure_without_usable_values_is_listed_not_ranked():
    """Every value missing (e.g. discarded because the measure changed the model): the
    measure is listed with its missing count, unranked (it once ranked 1st)."""
    runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=2)
    broken = traces[traces.measure == "good"].assign(measure="broken", value=np.nan,
                                                     error="mutated the model (value discarded)")
    table = pd.concat([measures, measures[measures.measure == "good"].assign(measure="broken")])
    lb = score(runs, pd.concat([traces, broken]), table, ScoreConfig(n_boot=20)).leaderboard.set_index("measure")
    without = score(runs, traces, measures, ScoreConfig(n_boot=20)).leaderboard.set_index("measure")
    assert lb.loc["broken", "section"] == "unranked" and np.isnan(lb.loc["broken", "rank"])
    assert lb.loc["broken", "n_missing"] == len(broken) and lb.loc["broken", "n_ckpt"] == 0
    assert lb.loc["good", "rank"] == without.loc["good", "rank"]
