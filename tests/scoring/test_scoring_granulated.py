"""Granulated Psi and sign-error against a hand-computed example with seeds and censoring."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.granulated import delay_order, one_axis_pairs, score_granulated
from complexity_bench.scoring.prepare import TaskRuns

from scoring_helpers import run_row


def _runs():
    # delay D = log10(t_gen / t_mem) with t_mem = 10; r4 censored at budget 1e4 -> D >= 3.0.
    rows = [
        run_row("r1", 10.0, 10 * 10**1.0, 1e5, wd=1.0, a=1.0),
        run_row("r2", 10.0, 10 * 10**1.2, 1e5, wd=1.0, a=1.0),   # r1's seed twin
        run_row("r3", 10.0, 10 * 10**2.0, 1e5, wd=0.5, a=1.0),
        run_row("r4", 10.0, None, 1e4, wd=0.5, a=2.0),
        run_row("r5", 10.0, 10 * 10**3.5, 1e5, wd=1.0, a=2.0),
    ]
    return TaskRuns.from_frame(pd.DataFrame(rows))


X = np.array([1.0, 2.0, 3.0, 0.0, 4.0])  # signed measure at T_mem, in run order r1..r5


def test_one_axis_pairs_and_censored_order():
    runs = _runs()
    i, j, axis = one_axis_pairs(runs, np.ones(5, bool))
    pairs = {(runs.run_ids[a], runs.run_ids[b], runs.axes[k]) for a, b, k in zip(i, j, axis)}
    assert pairs == {("r1", "r3", "wd"), ("r2", "r3", "wd"), ("r1", "r5", "a"), ("r2", "r5", "a"),
                     ("r3", "r4", "a"), ("r4", "r5", "wd")}
    known, sD, _ = delay_order(runs, i, j)
    got = {(runs.run_ids[a], runs.run_ids[b]): (k, s) for a, b, k, s in zip(i, j, known, sD)}
    assert got[("r3", "r4")] == (True, -1.0)   # censored r4 (D >= 3) outlasts r3 (D = 2)
    assert got[("r4", "r5")][0] == False        # r4 censored at D 3.0 < r5's 3.5: order unknown  # noqa: E712


def test_psi_and_sign_error_hand_values():
    runs = _runs()
    res = score_granulated(X, runs, np.ones(5, bool), np.ones((0, 5)), ScoreConfig(sign_tol=0.0))
    # wd axis: group a=1 has pairs r1-r3, r2-r3, both concordant -> psi_wd = 1.
    # a axis: group wd=1 (r1-r5, r2-r5) -> +1; group wd=0.5 (r3-r4) -> -1; psi_a = 0.
    assert res.values["fc_psi"] == pytest.approx(0.5)
    # environments: {wd1a1, wd.5a1} loss 0; {wd1a1, wd1a2} loss 0; {wd.5a1, wd.5a2} loss 1.
    assert res.values["fc_sign_error_mean"] == pytest.approx(1 / 3)
    assert res.values["fc_sign_error_max"] == 1.0
    assert res.counts["n_sign_envs"] == 3


def test_sign_tolerance_drops_close_pairs():
    runs = _runs()
    # gaps: r1-r3 1.0, r2-r3 0.8, r3-r4 >= 1.0 are dropped at tol 1.1; r1-r5 2.5 and r2-r5 2.3 stay.
    res = score_granulated(X, runs, np.ones(5, bool), np.ones((0, 5)), ScoreConfig(sign_tol=1.1))
    assert res.values["fc_sign_error_mean"] == 0.0
    assert res.values["fc_sign_error_max"] == 0.0
    assert res.counts["n_sign_envs"] == 1


def test_constant_measure_is_undefined_and_no_axes_is_nan():
    """A constant measure has no ordering to score: undefined, not chance (not psi 0 and a
    sign-error of 0.5, on which it would rank)."""
    runs = _runs()
    res = score_granulated(np.zeros(5), runs, np.ones(5, bool), np.ones((0, 5)), ScoreConfig(sign_tol=0.0))
    for c in ("fc_psi", "fc_sign_error_mean", "fc_sign_error_max"):
        assert np.isnan(res.values[c]) and res.reasons[c] == "constant measure at T_mem"
    noax = TaskRuns.from_frame(pd.DataFrame([run_row("a", 1.0, 10.0, 100), run_row("b", 1.0, 20.0, 100)]))
    res = score_granulated(np.arange(2.0), noax, np.ones(2, bool), np.ones((3, 2)), ScoreConfig())
    assert np.isnan(res.values["fc_psi"]) and "no variant axes" in res.reasons["fc_psi"]
