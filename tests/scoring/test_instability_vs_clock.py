"""The instability score against the clock (scoring/instability_vs_clock.py): P(beats) by brute force over
the shared replicates, Holm over the measures of a task, the across-task means over the tasks where both
are defined, and who takes part (causal measures other than the clock)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from complexity_bench.scoring.instability_vs_clock import versus_clock

B = 200


def _by_task(rows):
    return pd.DataFrame([{"measure": m, "task": t, "causal": c, "in_auroc": v} for m, t, c, v in rows])


def test_p_beats_is_the_paired_share_with_ties_half_over_replicates_both_defined():
    rng = np.random.default_rng(0)
    clock = rng.uniform(0.4, 0.8, B)
    a = clock + rng.normal(0, 0.05, B)
    a[:20] = clock[:20]  # ties
    a[20:30] = np.nan   # undefined replicates are left out of both
    by_task = _by_task([("step", "t", True, 0.6), ("a", "t", True, 0.61)])
    rows, pairs = versus_clock(by_task, {("step", "t"): {"in_auroc": clock}, ("a", "t"): {"in_auroc": a}}, 0.95)
    ok = np.isfinite(a)
    brute = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x, y in zip(a[ok], clock[ok])) / ok.sum()
    row = rows.set_index("measure").loc["a"]
    assert row["in_p_beats_step"] == brute and row["in_auroc_step"] == 0.6
    task_pair = [p for p in pairs if p["scope"] == "t"][0]
    assert task_pair["n_boot"] == ok.sum() and task_pair["measure_b"] == "step" and task_pair["score"] == "in_auroc"


def test_holm_runs_over_the_measures_of_a_task():
    """p = 0.97 alone passes at 5% (0.03 <= 0.05); two measures at 0.97 each do not (0.03 > 0.05 / 2)."""
    clock = np.zeros(100)
    beats_97 = np.r_[np.ones(97), -np.ones(3)]  # wins in 97 of 100 replicates
    one = versus_clock(_by_task([("step", "t", True, 0.5), ("a", "t", True, 0.9)]),
                       {("step", "t"): {"in_auroc": clock}, ("a", "t"): {"in_auroc": beats_97}}, 0.95)[0]
    assert bool(one.set_index("measure").loc["a", "in_beats_step"]) is True
    two = versus_clock(_by_task([("step", "t", True, 0.5), ("a", "t", True, 0.9), ("b", "t", True, 0.9)]),
                       {("step", "t"): {"in_auroc": clock}, ("a", "t"): {"in_auroc": beats_97},
                        ("b", "t"): {"in_auroc": beats_97}}, 0.95)[0].set_index("measure")
    assert not bool(two.loc["a", "in_beats_step"]) and not bool(two.loc["b", "in_beats_step"])
    assert two.loc["a", "in_p_beats_step"] == 0.97


def test_across_tasks_averages_over_the_tasks_where_both_are_defined():
    """Task u has no clock value, so a's across-task replicate is its task-t replicate alone."""
    clock_t, a_t, a_u = np.full(50, 0.6), np.full(50, 0.7), np.full(50, 0.1)
    by_task = _by_task([("step", "t", True, 0.6), ("a", "t", True, 0.7),
                        ("step", "u", True, np.nan), ("a", "u", True, 0.1)])
    reps = {("step", "t"): {"in_auroc": clock_t}, ("a", "t"): {"in_auroc": a_t},
            ("step", "u"): {"in_auroc": np.full(50, np.nan)}, ("a", "u"): {"in_auroc": a_u}}
    rows, pairs = versus_clock(by_task, reps, 0.95)
    across = [p for p in pairs if p["scope"] == "all"]
    assert len(across) == 1 and across[0]["p_a_beats_b"] == 1.0 and across[0]["a_beats_b"]
    assert np.isnan(rows.set_index(["measure", "task"]).loc[("a", "u"), "in_p_beats_step"])


def test_only_causal_measures_other_than_the_clock_are_compared():
    by_task = _by_task([("step", "t", True, 0.5), ("oracle-test-loss", "t", False, 0.99), ("a", "t", True, 0.7),
                        ("b", "t", True, np.nan)])
    reps = {(m, "t"): {"in_auroc": np.full(10, v)} for m, v in
            (("step", 0.5), ("oracle-test-loss", 0.99), ("a", 0.7), ("b", np.nan))}
    _, pairs = versus_clock(by_task, reps, 0.95)
    assert sorted({p["measure_a"] for p in pairs}) == ["a"]


def test_no_clock_value_means_no_comparison():
    by_task = _by_task([("a", "t", True, 0.7)])
    rows, pairs = versus_clock(by_task, {("a", "t"): {"in_auroc": np.full(10, 0.7)}}, 0.95)
    assert pairs == [] and rows["in_p_beats_step"].isna().all()
