"""Tracking: point selection, pooled vs per-run, the step baseline."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score

from scoring_helpers import measures_table, run_row, trace_rows


def _two_runs():
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1000), run_row("B", 20.0, 60.0, 1000),
                         run_row("C", 10.0, None, 1000)])
    steps = [0, 10, 40, 70, 100, 200]
    tl_a = [3.0, 3.0, 2.0, 1.0, 0.1, 0.1]
    a = trace_rows("A", "m", steps, [0, 9, 6, 3, 1, 1], test_loss=tl_a)
    # B's window [20, 60] holds steps 40 only -> with 10 and 70 outside; add 30 and 50.
    b = trace_rows("B", "m", [0, 10, 30, 40, 50, 70], [0, 5, 4, 2, 0.5, 0.5],
                   test_loss=[3.0, 3.0, 2.5, 1.5, 0.2, 0.1])
    c = trace_rows("C", "m", steps, [0, 9, 9, 9, 9, 9])  # never generalises: not tracked
    return runs, pd.concat([a, b, c])


def test_pooled_uses_window_of_grokking_runs_only():
    runs, traces = _two_runs()
    row = score(runs, traces, measures_table(("m", 1)), ScoreConfig(n_boot=0)).by_task.iloc[0]
    # A: steps 10, 40, 70, 100 (values 9, 6, 3, 1; loss 3, 2, 1, 0.1); B: 30, 40, 50 (4, 2, 0.5; 2.5, 1.5, 0.2).
    x = np.array([9, 6, 3, 1, 4, 2, 0.5])
    y = np.array([3, 2, 1, 0.1, 2.5, 1.5, 0.2])
    # Hand ranks: x -> 7, 6, 3, 1, 4, 2... order x: 0.5(1) 1(2) 2(3) 3(4) 4(5) 6(6) 9(7); y: 0.1(1) 0.2(2)
    # 1(3) 1.5(4) 2(5) 2.5(6) 3(7). Ranks x = [7,6,4,2,5,3,1], y = [7,5,3,1,6,4,2]; d^2 = 0+1+1+1+1+1+1 = 6.
    assert row["n_ckpt_tracking"] == 7 and row["n_runs_tracking"] == 2
    assert row["trk_rho"] == pytest.approx(1 - 6 * 6 / (7 * 48))
    assert row["trk_rho_run_median"] == 1.0  # each run is perfectly monotone
    r = np.corrcoef(x, y)[0, 1]
    assert row["trk_r2"] == pytest.approx(r * r)


def test_direction_flips_rho_not_r2():
    runs, traces = _two_runs()
    plus = score(runs, traces, measures_table(("m", 1)), ScoreConfig(n_boot=0)).by_task.iloc[0]
    minus = score(runs, traces, measures_table(("m", -1)), ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert minus["trk_rho"] == pytest.approx(-plus["trk_rho"])
    assert minus["trk_r2"] == pytest.approx(plus["trk_r2"])


def test_step_baseline_tracks_within_runs():
    runs, traces = _two_runs()
    traces = traces.assign(measure="step", value=traces["step"].astype(float))
    row = score(runs, traces, measures_table(("step", -1)), ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert row["trk_rho_run_median"] == 1.0
    assert row["trk_rho_run_median_step"] == 1.0  # the step column beside every row


def test_constant_measure_is_nan_with_reason():
    runs, traces = _two_runs()
    traces = traces.assign(value=7.0)
    row = score(runs, traces, measures_table(("m", 1)), ScoreConfig(n_boot=10)).by_task.iloc[0]
    assert np.isnan(row["trk_rho"]) and "trk_rho: constant measure" in row["nan_reasons"]
    assert np.isnan(row["trk_rho_lo"])
