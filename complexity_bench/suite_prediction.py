"""A suite's wall time on this machine, predicted before it runs (``scripts/suite_cost.py --predict``).

The model, for each job ``run`` makes (``pipeline/harness.make_jobs``: a task's runs
split round-robin into about W jobs, one cohort each):

- **Expected steps per run**: a run stops at the first evaluation at which T_mem and T_gen
  are both confirmed (3 evaluations into their streaks) and the step is >= stop_factor x
  max(T_gen, T_mem) (``engine/training.should_stop``), else at the budget
  (:func:`stop_step`). The events come from a stored suite's ``runs.csv``: the runs of the
  same configuration (same task, task version and parameters; matched by run id), each
  seed's stop and checkpoint count computed from its own T_mem and T_gen, censored runs at
  the budget, then averaged over the stored seeds. A configuration with no stored run is
  expected to train its whole budget (an upper bound) and is marked so.
- **Training seconds of a job**: its runs train in lock-step and a run leaves the cohort
  when it stops (``engine/cohort.py``), so with the runs' expected steps sorted,
  s_1 <= ... <= s_n, the job costs sum_i (s_i - s_(i-1)) x c(n - i + 1), where c(k) is the
  measured CPU seconds of one lock-step step of k runs (evaluations included at their
  average spacing), linear in k between the measured sizes (:func:`cohort_seconds`).
- **Measure seconds of a run**: its expected checkpoints x the sum of the measured seconds
  per checkpoint of each measure that applies to the task.
- **Wall time**: the executor hands jobs out in ``make_jobs``'s order to whichever of the W
  workers frees first (:func:`wall_seconds`); a job is its training then its measures.

Not modelled: scoring, figures and the report after the jobs (minutes with 1,000
bootstrap replicates); loading and saving runs; other load on the machine (the inputs are
CPU time, so the prediction is for W workers with a core each); a measure's cost changing
along a run (it is timed on one early checkpoint).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from complexity_bench.contracts.task import Task, Variant
from complexity_bench.errors import UserError

HISTORY_SEEDS = range(64)  # seeds looked for in the stored runs of a configuration


def stop_step(evals: Sequence[int], t_mem: int | None, t_gen: int | None, budget: int,
              stop_factor: float | None) -> int:
    """The step at which the engines stop a run with these events (module docstring).

    >>> stop_step([0, 50, 100, 150, 200, 250, 300, 350, 400], t_mem=50, t_gen=100, budget=400, stop_factor=1.5)
    200
    >>> stop_step([0, 50, 100, 150, 200], t_mem=50, t_gen=None, budget=200, stop_factor=1.5)
    200
    """
    if stop_factor is None or t_gen is None or t_mem is None:
        return budget
    evals = sorted(evals)
    confirmed = max(_third_of_streak(evals, t_gen), _third_of_streak(evals, t_mem))
    target = stop_factor * max(t_gen, t_mem, 1)
    for e in evals[bisect.bisect_left(evals, confirmed):]:
        if e >= target:
            return min(e, budget)
    return budget


def _third_of_streak(evals: list[int], start: int) -> int:
    """The evaluation at which a streak beginning at ``start`` is 3 evaluations long."""
    i = bisect.bisect_left(evals, start)
    return evals[min(i + 2, len(evals) - 1)]


def checkpoints_until(schedule: Sequence[int], stop: int, t_mem: int | None) -> int:
    """Checkpoints a run stopping at ``stop`` stores: its schedule up to the stop, the stop
    itself, and the memorisation checkpoint at T_mem (``engine/training.py``).

    >>> checkpoints_until([0, 10, 100, 1000], stop=150, t_mem=40)
    5
    """
    kept = {s for s in schedule if s <= stop} | {stop}
    if t_mem is not None and t_mem <= stop:
        kept.add(t_mem)
    return len(kept)


@dataclass(frozen=True)
class RunExpectation:
    steps: float
    checkpoints: float
    stored_seeds: int  # 0: no stored run of the configuration; the budget was assumed


def _events(row: Mapping[str, Any]) -> tuple[int | None, int | None]:
    def num(v: Any) -> int | None:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return None if f != f else int(f)

    t_gen = None if str(row.get("censored")).lower() == "true" else num(row.get("t_gen"))
    return num(row.get("t_mem")), t_gen


def expected_run(task: Task, variant: Variant, history: Mapping[str, Mapping[str, Any]]) -> RunExpectation:
    """Expected steps and checkpoints of ``variant`` from the stored runs of its configuration
    (``history``: run id -> runs.csv row), or its whole budget when none is stored."""
    recipe = task.recipe(variant.param_dict)
    evals, schedule = task.eval_steps(recipe.steps), task.checkpoint_steps(recipe.steps)
    rows = [history[rid] for rid in (Variant(variant.task, variant.params, s, variant.task_version).run_id
                                     for s in HISTORY_SEEDS) if rid in history]
    if not rows:
        return RunExpectation(float(recipe.steps), float(checkpoints_until(schedule, recipe.steps, None) + 1), 0)
    steps, ckpts = [], []
    for row in rows:
        t_mem, t_gen = _events(row)
        stop = stop_step(evals, t_mem, t_gen, recipe.steps, recipe.stop_factor)
        steps.append(stop)
        ckpts.append(checkpoints_until(schedule, stop, t_mem))
    return RunExpectation(sum(steps) / len(steps), sum(ckpts) / len(ckpts), len(rows))


def linear_in_runs(points: Mapping[int, float]) -> Callable[[int], float]:
    """c(k) through the measured (k, seconds) points, linear between them and beyond the
    outermost two (constant with one point).

    >>> c = linear_in_runs({1: 2.0, 11: 12.0})
    >>> c(1), c(6), c(11)
    (2.0, 7.0, 12.0)
    """
    ks = sorted(points)
    if not ks:
        raise ValueError("no measured cohort sizes")

    def cost(k: int) -> float:
        if len(ks) == 1:
            return points[ks[0]]
        j = min(max(bisect.bisect_left(ks, k), 1), len(ks) - 1)
        k0, k1 = ks[j - 1], ks[j]
        return points[k0] + (points[k1] - points[k0]) * (k - k0) / (k1 - k0)

    return cost


def cohort_seconds(steps: Sequence[float], cost: Callable[[int], float]) -> float:
    """Seconds of a cohort whose runs train ``steps`` steps each, dropping out as they stop:
    sum_i (s_i - s_(i-1)) x cost(runs still training) over the sorted steps.

    >>> cohort_seconds([100, 300], lambda k: {1: 1.0, 2: 1.5}[k])   # 100 x 1.5 + 200 x 1.0
    350.0
    """
    s = sorted(steps)
    total, prev = 0.0, 0.0
    for i, si in enumerate(s):
        total += (si - prev) * cost(len(s) - i)
        prev = si
    return total


def wall_seconds(job_seconds: Sequence[float], workers: int) -> float:
    """When the last job ends if each job, in order, goes to the worker that frees first.

    >>> wall_seconds([5, 3, 3, 1], workers=2)   # worker 1: 5 then 1; worker 2: 3 then 3
    6.0
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    free = [0.0] * workers
    for s in job_seconds:
        i = min(range(workers), key=free.__getitem__)
        free[i] += s
    return max(free)


@dataclass
class TaskPrediction:
    runs: int = 0
    train_seconds: float = 0.0
    measure_seconds: dict[str, float] = field(default_factory=dict)  # per measure
    expected_steps: float = 0.0  # summed over runs
    checkpoints: float = 0.0  # summed over runs
    runs_at_budget_by_assumption: int = 0  # runs of configurations with no stored run
    engine: str = ""
    raised: list[str] = field(default_factory=list)  # measures that raised when timed (timed to the raise)

    @property
    def measures_total(self) -> float:
        return sum(self.measure_seconds.values())


@dataclass
class Prediction:
    suite: str
    workers: int
    measures: list[str]
    tasks: dict[str, TaskPrediction]
    job_seconds: list[float]
    wall: float
    inputs_cpu: str

    @property
    def worker_seconds(self) -> float:
        return sum(self.job_seconds)


def predict_jobs(jobs: Sequence[Any], tasks: Mapping[str, Task], measures: Sequence[str],
                 inputs: Mapping[str, Any], history: Mapping[str, Mapping[str, Any]], trained: bool = False
                 ) -> tuple[dict[str, TaskPrediction], list[float]]:
    """Per task and per job (``make_jobs``'s order) the predicted seconds (module docstring);
    ``trained``: the runs are in the run store already, so only the measures cost time."""
    out: dict[str, TaskPrediction] = {}
    job_seconds = []
    for job in jobs:
        task = tasks[job.task]
        train_in = inputs["training"].get(job.task)
        meas_in = inputs["measures"].get(job.task)
        if train_in is None or meas_in is None:
            raise UserError(f"the inputs have no measured costs for task {job.task!r}; re-run --measure")
        per_ckpt = {}
        for m in measures:
            if m not in meas_in["cpu_seconds"]:
                raise UserError(f"the inputs have no measured seconds of {m!r} on {job.task!r}; re-run --measure")
            v = meas_in["cpu_seconds"][m]
            per_ckpt[m] = 0.0 if v is None else float(v)  # None: does not apply to the task
        expect = [expected_run(task, v, history) for v in job.variants]
        cost = linear_in_runs({int(k): float(s) for k, s in train_in["cpu_seconds_per_step"].items()})
        train = 0.0 if trained else cohort_seconds([e.steps for e in expect], cost)
        tp = out.setdefault(job.task, TaskPrediction(engine=train_in["engine"]))
        tp.raised = sorted(set(meas_in.get("raised", {})) & set(measures))
        tp.runs += len(expect)
        tp.train_seconds += train
        tp.expected_steps += sum(e.steps for e in expect)
        ckpts = sum(e.checkpoints for e in expect)
        tp.checkpoints += ckpts
        tp.runs_at_budget_by_assumption += sum(e.stored_seeds == 0 for e in expect)
        for m, s in per_ckpt.items():
            tp.measure_seconds[m] = tp.measure_seconds.get(m, 0.0) + ckpts * s
        job_seconds.append(train + ckpts * sum(per_ckpt.values()))
    return out, job_seconds


def measure_names(suite: str, measures: str | None) -> str:
    """``run``'s ``--measures`` string for ``measures``: ``default-tier`` -> the cheap and
    moderate tiers' names; None -> ``all``."""
    from complexity_bench.contracts.measure import MEASURES

    if measures is None:
        return "all"
    if measures.strip() == "default-tier":
        MEASURES.discover()
        return ",".join(sorted(m.name for m in MEASURES if m.info.cost in ("cheap", "moderate")))
    return measures


def read_history(path: Path | None) -> dict[str, dict[str, Any]]:
    """run id -> row of a stored ``runs.csv`` ({} when there is none)."""
    import csv

    if path is None or not Path(path).exists():
        return {}
    with open(path, newline="") as f:
        return {row["run_id"]: row for row in csv.DictReader(f)}


def predict_suite(suite: str, inputs: Mapping[str, Any], measures: str | None = None, workers: int = 2,
                  history: Path | None = None, tasks: str = "all", trained: bool = False) -> Prediction:
    """The prediction for ``run --suite SUITE --tasks TASKS --measures MEASURES --workers W``
    (module docstring); ``trained``: its runs are stored already (a later ``--measures`` run)."""
    from complexity_bench.pipeline.harness import make_jobs
    from complexity_bench.pipeline.plan import RunConfig, make_plan

    plan = make_plan(RunConfig(tasks=tasks, measures=measure_names(suite, measures), suite=suite, workers=workers))
    jobs = make_jobs(plan, Path("."), workers, "auto")
    names = [m.name for m in plan.measures]
    per_task, job_seconds = predict_jobs(jobs, {t.name: t for t in plan.tasks}, names, inputs,
                                         read_history(history), trained)
    return Prediction(suite, workers, names, per_task, job_seconds, wall_seconds(job_seconds, workers),
                      str(inputs.get("machine", {}).get("cpu", "unknown CPU")))


def _hms(seconds: float) -> str:
    """Hours and minutes, to the nearest minute.

    >>> _hms(15_099), _hms(89.6 * 60)
    ('4 h 12 min', '1 h 30 min')
    """
    h, m = divmod(int(round(seconds / 60)), 60)
    return f"{h} h {m:02d} min"


def prediction_table(pred: Prediction, top: int = 3) -> str:
    """Markdown: per task the runs, expected steps, training and measure worker-seconds, the
    costliest measures; then the totals and the wall time on the workers."""
    lines = ["| task | runs | engine | expected steps (all runs) | checkpoints | training, worker-s | "
             "measures, worker-s | costliest measures (worker-s) |", "|---|---|---|---|---|---|---|---|"]
    train = meas = 0.0
    for name in sorted(pred.tasks):
        t = pred.tasks[name]
        costly = ", ".join(f"`{m}` {s:,.0f}" for m, s in sorted(t.measure_seconds.items(), key=lambda kv: -kv[1])[:top])
        note = f" ({t.runs_at_budget_by_assumption} at the budget: no stored run)" if t.runs_at_budget_by_assumption else ""
        lines.append(f"| `{name}` | {t.runs}{note} | {t.engine} | {t.expected_steps:,.0f} | {t.checkpoints:,.0f} | "
                     f"{t.train_seconds:,.0f} | {t.measures_total:,.0f} | {costly} |")
        train += t.train_seconds
        meas += t.measures_total
    lines.append(f"| **all** | {sum(t.runs for t in pred.tasks.values())} | | "
                 f"{sum(t.expected_steps for t in pred.tasks.values()):,.0f} | "
                 f"{sum(t.checkpoints for t in pred.tasks.values()):,.0f} | {train:,.0f} | {meas:,.0f} | |")
    raised = [f"`{m}` on `{name}`" for name in sorted(pred.tasks) for m in pred.tasks[name].raised]
    lines.append("")
    if raised:
        lines.append("Raised when timed (counted up to the raise, as a run spends it): " + ", ".join(raised) + ".")
    lines.append(f"Suite `{pred.suite}`, {len(pred.measures)} measures, {len(pred.job_seconds)} jobs: "
                 f"{pred.worker_seconds:,.0f} worker-s; predicted wall time on {pred.workers} workers "
                 f"{pred.wall:,.0f} s ({_hms(pred.wall)}), from CPU times measured on {pred.inputs_cpu}.")
    return "\n".join(lines)
