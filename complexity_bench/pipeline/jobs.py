"""One unit of work for an executor: train a group of runs of one task (if not
stored yet), then evaluate the measures each run is missing.

Jobs carry names, not objects, so they pickle to any worker; each worker
looks the task and measures up in its own registries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from complexity_bench.pipeline.isolation import IsolatedEvaluator
from complexity_bench.contracts.measure import get_measure
from complexity_bench.pipeline.store import RunStore
from complexity_bench.contracts.task import Variant, get_task
from complexity_bench.engine.select import train_group
from complexity_bench.engine.training import RunResult


@dataclass(frozen=True)
class Job:
    task: str
    variants: tuple[Variant, ...]
    measures: tuple[str, ...]
    store_root: str
    engine: str = "auto"  # a key of engine/select.py's ENGINES
    device: str = "cpu"  # where runs train and measures evaluate


@dataclass(frozen=True)
class JobOutcome:
    task: str
    runs: int
    trained: int
    steps_trained: int
    train_seconds: float  # the trained runs' own seconds (RunResult.seconds); loading and saving not counted
    measure_seconds: float


def run_job(job: Job) -> JobOutcome:
    task = get_task(job.task)
    measures = [get_measure(n) for n in job.measures]
    store = RunStore(job.store_root)

    loaded: dict[str, RunResult] = {}
    for v in job.variants:
        result = store.load_run(v, task)  # None when absent or corrupt: then it is retrained
        if result is not None:
            loaded[v.run_id] = result
    to_train = [v for v in job.variants if v.run_id not in loaded]
    steps_trained, train_seconds = 0, 0.0
    for result in train_group(task, to_train, job.engine, job.device) if to_train else []:
        store.save_run(result)
        loaded[result.variant.run_id] = result
        steps_trained += result.metrics["step"][-1]
        train_seconds += result.seconds  # as runs.csv counts it, so this invocation's share <= the total

    start = time.perf_counter()
    # a child process evaluates, so a measure that kills it costs only its own values (isolation.py)
    with IsolatedEvaluator(task, job.device) as evaluator:
        for v in job.variants:
            missing = [m for m in measures if not store.has_values(v.run_id, m.name, m.info.version)]
            if missing:
                values = evaluator.evaluate(loaded[v.run_id], missing)
                for m in missing:
                    store.save_values(v.run_id, m.name, m.info.version, values[m.name])
    return JobOutcome(task.name, len(job.variants), len(to_train), steps_trained, train_seconds,
                      time.perf_counter() - start)
