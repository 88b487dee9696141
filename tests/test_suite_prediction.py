"""The suite cost model's arithmetic (complexity_bench/suite_prediction.py) against hand
computations, and its stop and checkpoint rules against the stored full suite."""

import json
from pathlib import Path

import pandas as pd
import pytest

from complexity_bench.contracts.task import TASKS, Task, Variant
from complexity_bench.errors import UserError
from complexity_bench.pipeline.jobs import Job
from complexity_bench.suite_prediction import (
    _events, checkpoints_until, cohort_seconds, expected_run, linear_in_runs, predict_jobs, predict_suite,
    prediction_table, stop_step, wall_seconds,
)

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "results" / "full"
INPUTS = ROOT / "docs" / "measurements" / "suite_cost_inputs_xeon.json"


class Tiny(Task):
    """A budget of 10,000 steps, an evaluation every 100 and a checkpoint every 1,000."""

    name = "tiny"
    defaults = {"weight_decay": 0.1, "lr": 1e-3, "steps": 10_000, "stop_factor": 1.5}

    def eval_steps(self, steps):
        return list(range(0, steps + 1, 100))

    def checkpoint_steps(self, steps):
        return list(range(0, steps + 1, 1_000))


def _row(v: Variant, t_mem, t_gen, censored=False):
    return v.run_id, {"run_id": v.run_id, "t_mem": t_mem, "t_gen": "" if t_gen is None else t_gen,
                      "censored": str(censored)}


def test_stop_step_waits_for_both_streaks_and_the_factor():
    evals = list(range(0, 10_001, 100))
    # T_gen 1,000 is confirmed at 1,200 (3 evaluations); 1.5 x 1,000 = 1,500 comes later
    assert stop_step(evals, 200, 1_000, 10_000, 1.5) == 1_500
    # T_gen 100: confirmed at 300, but T_mem 400 only at 600; 1.5 x 400 = 600
    assert stop_step(evals, 400, 100, 10_000, 1.5) == 600
    # factor 1 stops as soon as both are confirmed
    assert stop_step(evals, 200, 1_000, 10_000, 1.0) == 1_200
    assert stop_step(evals, 200, None, 10_000, 1.5) == 10_000  # censored
    assert stop_step(evals, 200, 1_000, 10_000, None) == 10_000  # no early stop
    assert stop_step(evals, 200, 9_000, 10_000, 1.5) == 10_000  # 13,500 lies beyond the budget


def test_checkpoints_count_the_schedule_to_the_stop_the_stop_and_t_mem_once():
    sched = list(range(0, 10_001, 1_000))
    assert checkpoints_until(sched, 1_500, 200) == 4  # 0, 1,000, 1,500, T_mem 200
    assert checkpoints_until(sched, 2_000, 1_000) == 3  # the stop and T_mem are scheduled already
    assert checkpoints_until(sched, 10_000, None) == 11


def test_expected_run_averages_the_stored_seeds_and_assumes_the_budget_without_any():
    task = Tiny()
    v0, v1 = task.variant({}, 0), task.variant({}, 1)
    history = dict([_row(v0, 200, 1_000), _row(v1, 300, None, censored=True)])
    e = expected_run(task, task.variant({}, 5), history)  # a seed not stored: its configuration's mean
    assert (e.steps, e.checkpoints, e.stored_seeds) == ((1_500 + 10_000) / 2, (4 + 12) / 2, 2)
    other = expected_run(task, task.variant({"weight_decay": 0.3}, 0), history)
    assert (other.steps, other.checkpoints, other.stored_seeds) == (10_000, 12, 0)  # 11 scheduled + T_mem


def test_cohort_seconds_charge_each_stretch_at_the_runs_still_training():
    c = {1: 2.0, 2: 3.0, 3: 4.0}.__getitem__
    # 100 steps with 3 runs, 200 more with 2, 700 more with 1
    assert cohort_seconds([1_000, 100, 300], c) == pytest.approx(100 * 4.0 + 200 * 3.0 + 700 * 2.0)
    assert cohort_seconds([], c) == 0.0


def test_linear_in_runs_interpolates_and_extrapolates():
    c = linear_in_runs({1: 0.002, 11: 0.022})
    assert c(6) == pytest.approx(0.012) and c(13) == pytest.approx(0.026)
    assert linear_in_runs({4: 1.5})(9) == 1.5


def test_wall_seconds_hands_jobs_in_order_to_the_first_free_worker():
    assert wall_seconds([10, 4, 3, 3], 2) == 10  # 10 | 4, 3, 3
    assert wall_seconds([4, 10, 3], 2) == 10  # 4, 3 | 10
    assert wall_seconds([1, 2, 3], 1) == 6
    assert wall_seconds([5], 3) == 5
    with pytest.raises(ValueError):
        wall_seconds([1], 0)


def test_predict_jobs_adds_training_and_measures_as_by_hand():
    task = Tiny()
    a, b, c = task.variant({}, 0), task.variant({}, 1), task.variant({"weight_decay": 0.3}, 0)
    history = dict([_row(a, 200, 1_000), _row(b, 300, None, censored=True)])
    inputs = {"training": {"tiny": {"engine": "cohort", "cpu_seconds_per_step": {"1": 0.002, "2": 0.003}}},
              "measures": {"tiny": {"cpu_seconds": {"l2": 0.01, "linear-regions": None}}}}
    jobs = [Job("tiny", (a, c), (), "."), Job("tiny", (b,), (), ".")]
    per_task, job_s = predict_jobs(jobs, {"tiny": task}, ["l2", "linear-regions"], inputs, history)
    # a and b share a configuration: each is expected at its stored seeds' mean, (1,500 + 10,000) / 2 = 5,750
    # steps and (4 + 12) / 2 = 8 checkpoints; c has no stored run: the budget, 11 scheduled checkpoints + T_mem.
    # job 1: a and c together for 5,750 steps, then c alone for 4,250; (8 + 12) checkpoints x 0.01 s of l2
    # job 2: b alone for 5,750 steps; 8 checkpoints
    assert job_s == pytest.approx([5_750 * 0.003 + 4_250 * 0.002 + 20 * 0.01, 5_750 * 0.002 + 8 * 0.01])
    t = per_task["tiny"]
    assert (t.runs, t.expected_steps, t.checkpoints, t.runs_at_budget_by_assumption) == (3, 21_500, 28, 1)
    assert t.train_seconds == pytest.approx(25.75 + 11.5)
    assert t.measure_seconds == pytest.approx({"l2": 0.28, "linear-regions": 0.0})
    assert wall_seconds(job_s, 2) == pytest.approx(25.95) and wall_seconds(job_s, 1) == pytest.approx(37.53)
    # the runs already stored: only their measures
    _, measures_only = predict_jobs(jobs, {"tiny": task}, ["l2"], inputs, history, trained=True)
    assert measures_only == pytest.approx([20 * 0.01, 8 * 0.01])


def test_predict_jobs_refuses_inputs_without_the_task_or_measure_and_names_measures_that_raised():
    task = Tiny()
    jobs = [Job("tiny", (task.variant({}, 0),), (), ".")]
    base = {"training": {"tiny": {"engine": "loop", "cpu_seconds_per_step": {"1": 0.002}}},
            "measures": {"tiny": {"cpu_seconds": {"l2": 0.5}, "raised": {"l2": "RuntimeError: boom"}}}}
    per_task, job_s = predict_jobs(jobs, {"tiny": task}, ["l2"], base, {})
    assert per_task["tiny"].raised == ["l2"] and job_s == pytest.approx([10_000 * 0.002 + 12 * 0.5])
    with pytest.raises(UserError, match="no measured seconds"):
        predict_jobs(jobs, {"tiny": task}, ["lmn"], base, {})
    with pytest.raises(UserError, match="no measured costs"):
        predict_jobs(jobs, {"tiny": task}, ["l2"], {"training": {}, "measures": {}}, {})


def test_stop_and_checkpoint_rules_reproduce_every_stored_full_suite_run():
    runs = pd.read_csv(FULL / "runs.csv")
    stored = pd.read_parquet(FULL / "traces.parquet", columns=["run_id", "step"]).groupby("run_id")["step"].nunique()
    for _, row in runs.iterrows():
        task = TASKS.get(row.task)
        t_mem, t_gen = _events(row.to_dict())
        factor = None if pd.isna(row.stop_factor) else float(row.stop_factor)
        stop = stop_step(task.eval_steps(int(row.budget)), t_mem, t_gen, int(row.budget), factor)
        assert stop == row.last_step, row.run_id
        assert checkpoints_until(task.checkpoint_steps(int(row.budget)), stop, t_mem) == stored[row.run_id], row.run_id


def test_the_committed_inputs_predict_the_whole_full_suite():
    pred = predict_suite("full", json.loads(INPUTS.read_text()), measures="default-tier", workers=2,
                         history=FULL / "runs.csv")
    assert sum(t.runs for t in pred.tasks.values()) == 225 and len(pred.tasks) == 9
    assert {m for m in pred.measures} >= {"l2", "lmn"} and "llc" not in pred.measures
    assert pred.wall >= pred.worker_seconds / 2
    assert "225" in prediction_table(pred)
