"""Event detection (complexity_bench.contracts.events) on hand-made accuracy curves."""

from __future__ import annotations

import math

import pytest

from complexity_bench.contracts.events import detect_events, first_sustained

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
