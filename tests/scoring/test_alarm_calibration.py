"""Alarm thresholds calibrated out of sample (alarm_calibration.py; docs/protocol.md, "Alarms out of sample")."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.alarm_calibration import AlarmCalibration

from scoring_helpers import measures_table, run_row, trace_rows

# Per task: the p maxima of its never-generalising runs, and the p its grokking run reaches.
# On each task alone, the threshold is its own largest maximum: no false alarm (0% <= 10%).
TASKS = {"a": ([0.95, 1.1, 1.2, 1.3, 1.4], 0.5),
         "b": ([0.1, 0.2, 0.3, 0.4, 0.5], 0.9),
         "c": ([0.6, 0.7, 0.8, 0.9, 1.0], 0.2)}


def _by_task(tasks=TASKS):
    """Measure m's per-task rows (the scorer adds its own baselines beside it)."""
    runs, traces, meas = _tasks(tasks)
    by_task = score(runs, traces, meas, ScoreConfig(n_boot=0)).by_task
    return by_task[by_task["measure"] == "m"].set_index("task")


def _tasks(tasks=TASKS):
    """s = 0, 1 (T_mem = 10), 1 - m, 1: p(20) = m (up to eps) and p(30) = 0. A grokking run
    generalises at 40 with its p at step 20; lead = log10(40 / 20) when it alarms."""
    runs, traces = [], []
    for task, (maxima, grok_p) in tasks.items():
        for k, m in enumerate(maxima):
            rid = f"{task}-never-{k}"
            runs.append(run_row(rid, 10.0, None, 100, task=task, seed=k))
            traces.append(trace_rows(rid, "m", [0, 10, 20, 30], [0.0, 1.0, 1.0 - m, 1.0], task=task))
        rid = f"{task}-grok"
        runs.append(run_row(rid, 10.0, 40.0, 100, task=task, seed=0))
        traces.append(trace_rows(rid, "m", [0, 10, 20, 30, 40], [0.0, 1.0, 1.0 - grok_p, 1.0, 1.0], task=task))
    return pd.DataFrame(runs), pd.concat(traces), measures_table(("m", 1))


def test_threshold_comes_from_the_other_tasks():
    rows = _by_task()
    # a: calibrated on b and c (10 maxima 0.1..1.0; 10% = one may exceed): theta 0.9. All five
    # of a's never-runs exceed it (achieved 100% against the 10% target); at the most cautious
    # threshold b and c allow (their largest, 1.0), four of five still alarm: the floor is 80%.
    assert rows.loc["a", "ew_false_alarm_rate"] == 1.0
    assert rows.loc["a", "ew_false_alarm_floor"] == pytest.approx(0.8)
    assert rows.loc["a", "ew_detect_rate"] == 0.0  # its grokking run's 0.5 is below 0.9
    # b: calibrated on a and c (0.6..1.4): theta 1.3. b's grokking run (0.9), which its own
    # maxima (at most 0.5) would have let alarm, does not.
    assert rows.loc["b", "ew_detect_rate"] == 0.0 and rows.loc["b", "ew_lead_time"] == 0.0
    assert rows.loc["b", "ew_false_alarm_rate"] == 0.0 and rows.loc["b", "ew_false_alarm_floor"] == 0.0
    assert (rows["n_runs_never"] == 5).all()


def test_alarm_that_transfers_is_detected_with_its_lead():
    tasks = {**TASKS, "b": ([0.1, 0.2, 0.3, 0.4, 0.5], 1.35)}  # above 1.3, b's threshold from a and c
    row = _by_task(tasks).loc["b"]
    assert row["ew_detect_rate"] == 1.0
    assert row["ew_lead_time"] == pytest.approx(np.log10(40 / 20))


def test_calibration_holds_out_seeds_on_a_single_task():
    runs, traces, _ = _tasks({"a": TASKS["a"]})
    cal = AlarmCalibration.from_tables(runs, traces, {"m": 1}, alpha=0.1, eps=1e-12)
    assert cal.holdout == "seed"
    # seed 0 (never-run maximum 0.95 and the grokking run) is held out: the other four
    # (1.1..1.4) allow none above, so theta = ceiling = 1.4
    theta, ceiling, n = cal.held_out("m", "0")
    assert (theta, ceiling, n) == (pytest.approx(1.4), pytest.approx(1.4), 4)
    theta, _, _ = cal.held_out("m", "4")  # 0.95..1.3 without 1.4
    assert theta == pytest.approx(1.3)
