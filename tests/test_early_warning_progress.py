"""The early-warning progress p(t) is one function, used by the scorer and by the Tracker."""

from __future__ import annotations

import numpy as np

from complexity_bench.scoring import early_warning, progress as progress_module
from complexity_bench.scoring.prepare import Series
from complexity_bench.tracker import warning


def test_relative_fall_by_its_definition():
    # s rose 2 -> 10 before T_mem; at 6 it has given back half of that rise
    assert progress_module.relative_fall(10.0, 2.0, 6.0, eps=0.0) == 0.5
    assert progress_module.relative_fall(10.0, 2.0, 12.0, eps=0.0) == -0.25


def test_scorer_and_tracker_both_compute_p_with_relative_fall(monkeypatch):
    calls = []

    def spy(s_mem, s_init, s, eps):
        calls.append(True)
        return progress_module.relative_fall(s_mem, s_init, s, eps)

    monkeypatch.setattr(early_warning, "relative_fall", spy)
    monkeypatch.setattr(warning, "relative_fall", spy)
    steps, s = np.array([0.0, 10, 20, 30]), np.array([2.0, 10, 8, 6])
    tracker_p = warning.progress(steps, s, t_mem=10.0, eps=0.0)
    series = Series(run=np.zeros(4, int), step=steps, s=s, test_loss=np.zeros(4), test_acc=np.zeros(4),
                    s_mem=np.array([10.0]), s_init=np.array([2.0]), n_rows=4, n_missing=0, n_unknown_runs=0)
    scorer_p = early_warning.predictor(series, eps=0.0)
    assert len(calls) == 2
    np.testing.assert_array_equal(tracker_p, [np.nan, np.nan, 0.25, 0.5])
    np.testing.assert_array_equal(scorer_p[2:], tracker_p[2:])
