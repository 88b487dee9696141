"""Early warning against a hand-computed two-run example."""

import math

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.early_warning import calibrate_threshold

from scoring_helpers import measures_table, run_row, trace_rows


def _example(value_b100=2.6):
    # One task, two seeds: each run's alarm threshold is calibrated on the other seed's
    # never-generalising runs (alarm_calibration.py).
    runs = pd.DataFrame([run_row("A", 10.0, 100.0, 1000, seed=0), run_row("B", 10.0, None, 200, seed=1)])
    # A groks: s(T_mem=10) = 5, s(0) = 1, so p(t) = (5 - s) / 4.
    a = trace_rows("A", "m", [0, 10, 20, 50, 80, 100, 150], [1, 5, 4, 3, 2, 1.5, 1])
    # B never generalises (budget 200): p = (5 - s) / 4 at 20, 50, 100, 200 = 0.1, 0.2, 0.6, 0.15.
    b = trace_rows("B", "m", [0, 10, 20, 50, 100, 200], [1, 5, 4.6, 4.2, value_b100, 4.4])
    return runs, pd.concat([a, b]), measures_table(("m", 1))


def test_auroc_lead_time_hand_values():
    runs, traces, meas = _example()
    row = score(runs, traces, meas, ScoreConfig(n_boot=0)).by_task.iloc[0]
    # Points: A at 20, 50, 80 (T_mem < t < T_gen) with p 0.25, 0.5, 0.75 and labels
    # T_gen <= 2t: no, yes, yes; B at 20, 50, 100 (2t <= budget; t = 200 has an unknown label),
    # p 0.1, 0.2, 0.6, all negative. Positives {0.5, 0.75} vs negatives {0.25, 0.1, 0.2, 0.6}: 7/8.
    assert row["n_ckpt_ew"] == 6
    assert row["ew_auroc"] == pytest.approx(7 / 8)
    # A's threshold: seed 1's only never-run maximum, B's 0.6. A first exceeds it at t = 80.
    assert row["ew_lead_time"] == pytest.approx(math.log10(100 / 80))
    assert row["ew_detect_rate"] == 1.0
    # B's threshold would come from seed 0's never-generalising runs: there are none.
    assert np.isnan(row["ew_false_alarm_rate"])
    assert "ew_false_alarm_rate: no calibration runs outside the held-out units" in row["nan_reasons"]


def test_censored_late_checkpoints_optionally_negative():
    runs, traces, meas = _example()
    row = score(runs, traces, meas, ScoreConfig(n_boot=0, censored_late_negative=True)).by_task.iloc[0]
    # B at t = 200 (p 0.15) joins the negatives {0.25, 0.1, 0.2, 0.6, 0.15}: 0.5 beats 4, 0.75 all 5: 9/10.
    assert row["n_ckpt_ew"] == 7
    assert row["ew_auroc"] == pytest.approx(9 / 10)


def test_run_without_checkpoint_before_t_gen_is_not_a_miss():
    runs, traces, meas = _example()
    # C generalises at 15, before its first checkpoint after T_mem: nothing could warn about it.
    runs = pd.concat([runs, pd.DataFrame([run_row("C", 10.0, 15.0, 1000)])])
    traces = pd.concat([traces, trace_rows("C", "m", [0, 10, 20], [1, 5, 4])])
    row = score(runs, traces, meas, ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert row["n_runs_lead"] == 1
    assert row["ew_lead_time"] == pytest.approx(math.log10(100 / 80))
    assert row["ew_detect_rate"] == 1.0


def test_no_alarm_gives_zero_lead():
    runs, traces, meas = _example(value_b100=0.0)  # B's p reaches 1.25: A never exceeds it
    row = score(runs, traces, meas, ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert row["ew_lead_time"] == 0.0
    assert row["ew_detect_rate"] == 0.0


def test_direction_minus_one_and_step_clock():
    # `step` (value = step, direction -1): p(t) = t / T_mem - 1, larger later: AUROC 1 on A alone
    # against B when B's checkpoints come earlier than A's positives.
    runs, traces, _ = _example()
    traces = traces.assign(measure="step", value=traces["step"].astype(float))
    row = score(runs, traces, measures_table(("step", -1)), ScoreConfig(n_boot=0)).by_task.iloc[0]
    # p: A 20->1, 50->4, 80->7 (labels 0,1,1); B 20->1, 50->4, 100->9 (all 0).
    # pos 4: beats 1,1, ties 4 -> 2.5 of 4; pos 7: beats 1,1,4 -> 3; total 5.5 / 8.
    assert row["ew_auroc"] == pytest.approx(5.5 / 8)


def test_calibrate_threshold_hand():
    maxima = np.array([0.1, 0.5, 0.3, 0.9, 0.7, 0.2, 0.4, 0.6, 0.8, 1.0])
    # 10 runs at 10%: the threshold is the 9th smallest (0.9): only 1.0 is above it.
    assert calibrate_threshold(maxima, np.ones((1, 10)), 0.10)[0] == 0.9
    # 20%: 0.8 (0.9 and 1.0 above).
    assert calibrate_threshold(maxima, np.ones((1, 10)), 0.20)[0] == 0.8
    # Ties at the top: two runs at 1.0 cannot be split, so the threshold is 1.0 (none above).
    assert calibrate_threshold(np.array([0.1, 1.0, 1.0]), np.ones((1, 3)), 0.4)[0] == 1.0


def test_no_never_generalising_run_gives_reason():
    runs, traces, meas = _example()
    runs = runs[runs.run_id == "A"]
    row = score(runs, traces[traces.run_id == "A"], meas, ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert np.isnan(row["ew_lead_time"])
    assert "never-generalising" in row["nan_reasons"]
    assert row["ew_auroc"] == 1.0  # A alone: positives {0.5, 0.75} vs negative {0.25}
    # Keep only A's checkpoint at t = 20 (label 0): one class -> NaN with a reason.
    tr = traces[(traces.run_id == "A") & traces.step.isin([0, 10, 20])]
    row = score(runs, tr, meas, ScoreConfig(n_boot=0)).by_task.iloc[0]
    assert np.isnan(row["ew_auroc"]) and "one label class" in row["nan_reasons"]
