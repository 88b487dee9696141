"""Baselines the scorer computes from runs.csv (complexity_bench.scoring.scorer_baselines)."""

import math

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.scorer_baselines import km_mean, recipe_values, with_scorer_baselines
from complexity_bench.scoring.synthetic import make_synthetic


def test_km_mean_by_hand():
    assert km_mean(np.array([1.0, 2.0, 3.0]), np.ones(3, bool)) == pytest.approx(2.0)  # no censoring: the mean
    # 2 censored: at 1 S drops 1/4; at 3 two at risk share 3/4 -> 3/8 each at 3 and 4.
    assert km_mean(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, True])) == pytest.approx(
        0.25 * 1 + 0.375 * 3 + 0.375 * 4)
    # Everything censored: a lower bound, the largest time.
    assert km_mean(np.array([2.0, 5.0]), np.zeros(2, bool)) == 5.0


def test_recipe_baselines_read_the_recipe_only():
    runs, _, _ = make_synthetic(tasks=("toy",), n_seeds=3, unmemorised=False)
    v = recipe_values(runs).set_index("run_id").loc[runs.run_id]
    expected = [-math.log10(max(lr * wd, 1e-12)) for lr, wd in zip(runs.lr, runs.weight_decay)]
    assert v["recipe-wd"].to_numpy() == pytest.approx(expected)
    key = [runs.weight_decay.to_numpy(), runs.init_scale.to_numpy()]
    per_config = pd.Series(v["recipe-oracle"].to_numpy()).groupby(key).nunique()
    assert (per_config == 1).all()  # constant within a configuration
    one = runs[(runs.weight_decay == 0.5) & (runs.init_scale == 1.0)]
    end = np.where(one.censored, one.budget, one.t_gen)
    delays = np.log10(end / one.t_mem.to_numpy())
    assert v.loc[one.run_id.iloc[0], "recipe-oracle"] == pytest.approx(km_mean(delays, ~one.censored.to_numpy()))


def test_random_is_independent_per_run_and_replaces_stored_rows():
    runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=2)
    tr, table = with_scorer_baselines(runs, traces, measures)
    rnd = tr[tr.measure == "random"].merge(runs[["run_id", "seed"]], on="run_id")
    assert len(rnd) == len(traces[traces.measure == "good"])  # one value per judgement step, stored rows gone
    # The same seed and step in two configurations: different draws (the old noise was keyed by seed and step).
    same = rnd[(rnd.seed == 0) & (rnd.step == 2000)]
    assert same.run_id.nunique() > 2 and same.value.nunique() == len(same)
    assert table.set_index("measure").loc["recipe-oracle", "causal"] in (False, "False")
    again, _ = with_scorer_baselines(runs, traces, measures)
    pd.testing.assert_frame_equal(tr, again)


def test_recipe_baselines_appear_in_every_leaderboard_at_the_recipe_level():
    runs, traces, measures = make_synthetic(n_seeds=3)
    lb = score(runs, traces, measures, ScoreConfig(n_boot=0)).leaderboard.set_index("measure")
    assert lb.loc["recipe-oracle", "section"] == "not causal"
    assert np.isfinite(lb.loc[["recipe-wd", "recipe-oracle"], "fc_cindex"]).all()
    assert lb.loc[["recipe-wd", "recipe-oracle"], "headline"].isna().all()
