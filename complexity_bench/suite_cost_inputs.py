"""The measured inputs of the suite cost model (suite_prediction.py), timed on this machine.

    python scripts/suite_cost.py --measure full --out docs/measurements/suite_cost_inputs_xeon.json

Everything is **CPU time** of this process (``time.process_time``) with one torch thread,
as each suite worker runs (``pipeline/executors.py``), under MKL's compatible path as
``run`` sets it (``numerics.pin_mkl``, called by the script before torch computes): on a
machine shared with other work, CPU time per step is the figure that does not depend on
the load, and the prediction assumes each worker has a core to itself.

- **Training**: per task, the engine ``run`` trains that task's largest job with
  (``engine/select.pick_engine`` on the job of ``pipeline/harness.make_jobs``), timed on
  that job's first k runs for k = 1 and k = the job's size, on the task with a short
  budget and its full-budget schedule's *average* evaluation and checkpoint spacing E
  (``bench.truncated``: the same mix of steps and evaluations as a real run). Seconds per
  lock-step step of k runs = (CPU of 2mE steps - CPU of mE steps) / mE: one evaluation
  per E steps, building the cohort not counted as steps, and m >= 1 so that mE steps take
  at least a second.
- **Measures**: per task and measure, CPU seconds of one ``compute_measure`` call on a
  checkpoint of the task's first suite variant after ``train_steps`` steps
  (``measure_costs.trained_checkpoint``); the least of up to 3 calls after the first when
  the first took under ``ONE_CALL_S`` (the first pays one-off set-up), else the first
  call alone (an expensive measure's set-up is small beside its work). Every call sees the
  context as ``run`` has it when that measure runs at a checkpoint: what the measures
  named before it share (``MeasureContext.shared``: the probe activations, the region
  walk of ``linear-regions`` and ``activation-pattern-changes``) is computed already, so
  a shared value is timed once, in the first measure that computes it. ``None`` for a
  measure that does not apply to the task. A measure that raises is timed to the raise
  (a suite run spends that time too, then records the failure) and named in ``raised``
  with its error.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Iterable

import torch

from complexity_bench.contracts.measure import MEASURES, compute_measure
from complexity_bench.contracts.task import TASKS, Task, Variant

ONE_CALL_S = 2.0  # a measure whose first call takes longer is timed by that call alone


def largest_job(task: Task, suite: str, workers: int) -> tuple[Variant, ...]:
    """The runs of the task's largest job in ``suite`` with ``workers`` workers, as ``run`` makes them."""
    from complexity_bench.pipeline.harness import make_jobs
    from complexity_bench.pipeline.plan import Plan

    plan = Plan([task], [], {task.name: task.variants(suite)})
    return max((j.variants for j in make_jobs(plan, store_root=".", workers=workers, engine="auto")), key=len)


def _cpu_of(train: Callable, task: Task, variants: list[Variant]) -> float:
    start = time.process_time()
    train(task, variants, "cpu")
    return time.process_time() - start


def eval_spacing(task: Task) -> int:
    """Steps between evaluations of ``bench.truncated``'s schedule for the task (its full budget's average)."""
    full = int(task.resolve({})["steps"])
    return max(1, round(full / max(len(task.eval_steps(full)) - 1, 1)))


def step_seconds(task: Task, variants: list[Variant], train: Callable, least_s: float = 1.0) -> dict[str, Any]:
    """CPU seconds per lock-step step of ``variants`` trained by ``train`` (module docstring):
    the difference between 2mE and mE steps, E the average evaluation spacing, so the
    difference holds exactly one evaluation per E steps, as a real run does on average, and
    no set-up; m >= 1 makes the mE steps take at least ``least_s`` (a short difference of
    two timings is mostly their noise)."""
    from complexity_bench.bench import truncated

    spacing = eval_spacing(task)
    once = _cpu_of(train, truncated(task, spacing), variants)
    m = max(1, math.ceil(least_s / max(once, 1e-3)))
    if m > 1:
        once = _cpu_of(train, truncated(task, m * spacing), variants)
    twice = _cpu_of(train, truncated(task, 2 * m * spacing), variants)
    return {"steps_timed": m * spacing, "cpu_seconds_per_step": max(twice - once, 0.0) / (m * spacing)}


def training_inputs(task: Task, suite: str, workers: int) -> dict[str, Any]:
    """{"engine", "job_runs", "cpu_seconds_per_step": {k: s}, "steps_timed": {k: n}} for k = 1 and the job size."""
    from complexity_bench.engine.select import pick_engine

    job = list(largest_job(task, suite, workers))
    engine, train = pick_engine(task, job)
    per_step, timed = {}, {}
    for k in sorted({1, len(job)}):
        # a cohort that shrinks to one run keeps its engine (engine/cohort.py drops finished rows)
        res = step_seconds(task, job[:k], train)
        per_step[str(k)], timed[str(k)] = res["cpu_seconds_per_step"], res["steps_timed"]
    return {"engine": engine, "job_runs": len(job), "cpu_seconds_per_step": per_step, "steps_timed": timed}


def measure_inputs(task: Task, suite: str, names: Iterable[str], train_steps: int) -> dict[str, Any]:
    """{"checkpoint_step", "cpu_seconds": {measure: s | None}, "raised": {measure: error}} (module docstring)."""
    from complexity_bench.measure_costs import trained_checkpoint

    model, harness = trained_checkpoint(task, train_steps, suite)
    out: dict[str, Any] = {}
    raised: dict[str, str] = {}
    for name in names:
        m = MEASURES.get(name)
        if not m.applicable(harness.task, model):
            out[name] = None
            continue
        # every call sees the checkpoint's context as the harness has it when this measure
        # runs: what the measures before it computed and share (MeasureContext.shared) is
        # there, nothing of its own earlier calls; its first call's shares go on to the next
        first_ctx = harness.private_copy()
        start = time.process_time()
        try:
            compute_measure(m, model, first_ctx)
        except Exception as exc:  # noqa: BLE001 - the harness records it and moves on: its time is spent all the same
            out[name] = time.process_time() - start
            raised[name] = f"{type(exc).__name__}: {exc}"
            harness = first_ctx
            continue
        first = best = time.process_time() - start
        if first < ONE_CALL_S:
            best = float("inf")
            for _ in range(3):
                own = harness.private_copy()
                start = time.process_time()
                compute_measure(m, model, own)
                best = min(best, time.process_time() - start)
        out[name] = best
        harness = first_ctx
    return {"checkpoint_step": harness.step, "cpu_seconds": out, "raised": raised}


def measure_all(suite: str, workers: int, tasks: Iterable[str] | None = None, measures: Iterable[str] | None = None,
                train_steps: int = 500,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Training and measure inputs of every task with runs in ``suite`` (or the named ones)."""
    from complexity_bench.bench import machine
    from complexity_bench.numerics import mkl_cbwr

    say = progress or (lambda s: None)
    torch.set_num_threads(1)
    TASKS.discover()
    names = sorted(measures) if measures is not None else sorted(m.name for m in MEASURES)
    wanted = None if tasks is None else set(tasks)
    out: dict[str, Any] = {"machine": machine(), "mkl_cbwr": mkl_cbwr(), "torch_threads": torch.get_num_threads(),
                           "suite": suite, "workers": workers, "clock": "process CPU time (time.process_time)",
                           "training": {}, "measures": {}}
    cpu0 = time.process_time()
    for task in TASKS:
        if not task.variants(suite) or (wanted is not None and task.name not in wanted):
            continue
        say(f"training cost: {task.name}")
        out["training"][task.name] = training_inputs(task, suite, workers)
        if names:
            say(f"measure cost: {task.name}")
            out["measures"][task.name] = measure_inputs(task, suite, names, train_steps)
    out["cpu_seconds_of_this_measurement"] = time.process_time() - cpu0
    out["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return out
