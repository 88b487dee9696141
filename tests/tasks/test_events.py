"""Event detection (complexity_bench.contracts.events) on hand-made accuracy curves."""

from __future__ import annotations

import math

import pytest

from complexity_bench.contracts.events import detect_events, first_collapse, first_spike, first_sustained

STEPS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]


def test_grokking_curve():
    train = [0.1, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    test = [0.0, 0.0, 0.0, 0.1, 0.2, 0.5, 0.99, 1.0, 1.0, 1.0]
    e = detect_events(STEPS, train, test, q=0.99, budget=90)
    assert (e.t_mem, e.t_gen, e.censored) == (20, 60, False)
    assert e.delay == pytest.approx(math.log10(3))


def test_dip_after_t_gen_does_not_move_it():
    test = [0, 0, 0, 0, 1.0, 1.0, 1.0, 0.3, 1.0, 1.0]  # a slingshot dip once generalised
    assert first_sustained(STEPS, test, 0.99) == 40


def test_dip_inside_the_first_streak_restarts_it():
    test = [0, 1.0, 1.0, 0.5, 1.0, 1.0, 0.2, 1.0, 1.0, 1.0]  # two streaks of 2, then 3
    assert first_sustained(STEPS, test, 0.99) == 70


def test_streak_cut_by_the_end_of_training_is_not_an_event():
    assert first_sustained(STEPS, [0] * 8 + [1.0, 1.0], 0.99) is None


def test_run_that_never_generalises_is_censored_at_budget():
    train = [1.0] * 10
    test = [0.5] * 10
    e = detect_events(STEPS, train, test, q=0.99, budget=20_000)
    assert e.t_mem == 0 and e.censored and e.t_gen_or_budget == 20_000
    # T_mem = 0 counts as step 1: D is a lower bound log10(budget / 1)
    assert e.delay == pytest.approx(math.log10(20_000))


def test_run_that_never_memorises_has_no_delay():
    e = detect_events(STEPS, [0.5] * 10, [0.5] * 10, q=0.99, budget=90)
    assert not e.memorised and math.isnan(e.delay)


def test_threshold_is_inclusive():
    assert first_sustained([1, 2, 3], [0.95, 0.95, 0.95], 0.95) == 1


# -- instability after T_gen: T_spike and T_collapse ------------------------------------
# One hand-made run: memorised at 20, generalised at 40, the training loss falls to 1e-6
# and then jumps, test accuracy drops below q from step 70 on.
TRAIN = [0.1, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
TEST = [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.4, 0.3]
LOSS = [3.0, 1.0, 1e-2, 1e-3, 1e-4, 1e-6, 9e-6, 1.1e-5, 1e-3, 1e-2]


def test_spike_is_the_first_step_above_ten_times_the_running_minimum():
    # running minimum 1e-6 (step 50): 9e-6 at 60 is below 1e-5, 1.1e-5 at 70 is above
    assert first_spike(STEPS, LOSS, t_gen=40) == 70


def test_spike_uses_only_earlier_evaluations_and_only_after_t_gen():
    loss = [1.0, 1e-3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # 0.5 > 10 x 1e-3 from step 20 on
    assert first_spike(STEPS, loss, t_gen=10) == 20
    assert first_spike(STEPS, loss, t_gen=20) == 30  # step 20 is T_gen itself: not after it
    assert first_spike(STEPS, [1.0] * 10, t_gen=0) is None
    assert first_spike(STEPS, loss, t_gen=None) is None


def test_spike_ignores_nan_losses():
    loss = [1.0, math.nan, 0.01, 0.05, 0.2] + [0.01] * 5
    assert first_spike(STEPS, loss, t_gen=0) == 40


def test_collapse_needs_three_evaluations_below_q_after_t_gen():
    assert first_collapse(STEPS, TEST, 0.99, t_gen=40) == 70
    dip = [0, 0, 0, 0, 1.0, 0.5, 0.5, 1.0, 0.5, 0.5]  # dips of two evaluations only
    assert first_collapse(STEPS, dip, 0.99, t_gen=40) is None
    assert first_collapse(STEPS, TEST, 0.99, t_gen=None) is None
    # the evaluations before T_gen (below q by definition) never start a collapse
    assert first_collapse(STEPS, [0.0] * 4 + [1.0] * 3 + [0.0] * 3, 0.99, t_gen=40) == 70
    assert first_collapse(STEPS, [1.0] * 7 + [0.99, 0.98, 0.98], 0.99, t_gen=0) is None  # q itself is not below


def test_detect_events_reports_spike_and_collapse():
    e = detect_events(STEPS, TRAIN, TEST, q=0.99, budget=90, train_loss=LOSS)
    assert (e.t_mem, e.t_gen, e.t_spike, e.t_collapse) == (20, 40, 70, 70)
    e = detect_events(STEPS, TRAIN, TEST, q=0.99, budget=90)  # no loss given: no spike looked for
    assert (e.t_spike, e.t_collapse) == (None, 70)
    e = detect_events(STEPS, TRAIN, [0.5] * 10, q=0.99, budget=90, train_loss=LOSS)  # censored: neither
    assert (e.t_gen, e.t_spike, e.t_collapse) == (None, None, None)
