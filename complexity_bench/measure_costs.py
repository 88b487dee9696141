"""Seconds per checkpoint of every registered measure on the default suite's models (``bench``'s ``measure_seconds``).

For each task with runs in the default suite: its first default-suite variant is trained
``train_steps`` steps (the plain loop, no early stop), and every measure that applies is
computed on the last checkpoint as the harness computes it (``compute_measure``: its own
seeded generator, only the inputs it declares). One untimed call first (a worker pays
torch.func's set-up once, not per checkpoint), then the best of ``repeats`` timed calls.
A measure that raises is reported with its error instead of a time.

``cost_growth`` turns these into the estimate docs/measures.md quotes: seconds of
``--measures all`` for a suite = Σ_tasks checkpoints(task) × Σ_measures seconds(task, measure),
with the checkpoint counts of a stored run of that suite (``results/traces.parquet``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

import torch

from complexity_bench.contracts.measure import COST_TIERS, MEASURES, MeasureContext, compute_measure
from complexity_bench.contracts.task import TASKS, Task


def suite_tasks(suite: str = "default") -> list[Task]:
    """The registered tasks with runs in ``suite``."""
    return [t for t in TASKS if t.variants(suite)]


def trained_checkpoint(task: Task, train_steps: int, suite: str = "default") -> tuple[torch.nn.Module, MeasureContext]:
    """The task's first ``suite`` variant after ``train_steps`` steps, and its checkpoint context."""
    from complexity_bench.bench import truncated  # bench imports this module lazily
    from complexity_bench.engine.training import train_run

    short = truncated(task, train_steps)
    variant = task.variants(suite)[0]
    run = train_run(short, variant)
    params = variant.param_dict
    data = task.make_data(params, variant.seed)
    model = task.make_model(params, variant.seed)
    step = max(run.checkpoints)
    model.load_state_dict(run.checkpoints[step])
    model.eval()
    metrics = {c: v[-1] for c, v in run.metrics.items() if c != "step" and v}
    return model, MeasureContext.for_run(task, params, variant.seed, data, step, run.checkpoints[0], metrics)


def time_measures(model: torch.nn.Module, ctx: MeasureContext, names: Iterable[str], repeats: int = 3) -> dict[str, Any]:
    """Best-of-``repeats`` seconds of each named measure on one checkpoint (an error string if it raises).

    The probe activations, which the harness computes once per checkpoint for every
    measure, are computed first and not timed; anything else measures share at a checkpoint
    (``MeasureContext.shared``, e.g. the region walk) is timed in every measure that uses it."""
    if hasattr(model, "stage_outputs"):
        try:
            ctx.activations(model)
        except Exception:  # noqa: BLE001 - each measure that reads them meets the error and reports it
            pass
    out: dict[str, Any] = {}
    for name in names:
        m = MEASURES.get(name)
        if not m.applicable(ctx.task, model):
            continue
        try:
            # untimed: one-off set-up (torch.func) is per worker, not per checkpoint
            compute_measure(m, model, ctx.private_copy())
            best = float("inf")
            for _ in range(repeats):
                own = ctx.private_copy()
                start = time.perf_counter()
                compute_measure(m, model, own)
                best = min(best, time.perf_counter() - start)
            out[name] = best
        except Exception as exc:  # noqa: BLE001 - reported beside the times, as the harness records it
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def measure_seconds(train_steps: int = 500, repeats: int = 3, suite: str = "default",
                    tasks: Iterable[str] | None = None, tiers: Iterable[str] | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """{task: {"parameters", "step", "seconds": {measure: s or error}}} for the suite's tasks, or the named
    ``tasks`` among them, for every measure, or those of the named cost ``tiers`` (module docstring)."""
    say = progress or (lambda s: None)
    TASKS.discover()
    names = sorted(m.name for m in MEASURES if tiers is None or m.info.cost in set(tiers))
    wanted = None if tasks is None else set(tasks)
    out: dict[str, Any] = {}
    for task in suite_tasks(suite):
        if wanted is not None and task.name not in wanted:
            continue
        say(f"measure seconds: {task.name}")
        model, ctx = trained_checkpoint(task, train_steps)
        out[task.name] = {"parameters": sum(p.numel() for p in model.parameters()), "step": ctx.step,
                          "seconds": time_measures(model, ctx, names, repeats)}
    return out


def cost_growth(seconds: Mapping[str, Any], checkpoints: Mapping[str, int], added: Iterable[str],
                suite: str = "default") -> dict[str, float]:
    """Estimated seconds of ``--measures all`` in ``suite`` without and with the ``added`` measures.

    ``seconds`` is :func:`measure_seconds`'s output, ``checkpoints`` the number of evaluated
    checkpoints per task. Only measures whose cost tier runs in ``suite`` count; errors count 0.
    """
    added = set(added)
    in_suite = {m.name for m in MEASURES if suite in COST_TIERS[m.info.cost]["suites"]}
    before = after = 0.0
    for task, row in seconds.items():
        n = checkpoints.get(task, 0)
        for name, s in row["seconds"].items():
            if name not in in_suite or not isinstance(s, float):
                continue
            after += n * s
            if name not in added:
                before += n * s
    return {"seconds_before": before, "seconds_after": after, "growth": after / before if before else float("nan")}
