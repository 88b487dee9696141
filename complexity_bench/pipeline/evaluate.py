"""Evaluate measures on the stored checkpoints of one run, each measure isolated.

A measure that raises, returns NaN/inf or a non-number, runs past its time
limit, or changes the model gets a missing value with the reason in
``error``; the model is restored and every other measure and checkpoint goes on.
"""

from __future__ import annotations

import math
import numbers
import signal
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from complexity_bench.contracts.measure import COST_TIERS, Measure, MeasureContext, compute_measure
from complexity_bench.contracts.task import Task, TaskData
from complexity_bench.engine.training import METRIC_COLUMNS, RunResult

# Wall-clock limit for one compute() call, by cost tier (seconds; contracts/measure.py's
# COST_TIERS). SIGALRM enforces it inside Python code; complexity_bench/pipeline/isolation.py's
# watchdog ends the evaluation process when a call is stuck where SIGALRM cannot reach.
CALL_LIMIT_S = {tier: spec["call_limit_s"] for tier, spec in COST_TIERS.items()}

# watch(measure name, step, limit in seconds) before each compute() call and
# watch(None, step, 0.0) after it: how a supervising process knows which call is running.
Watch = Callable[[str | None, int, float], None]


class MeasureTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM-based limit; a no-op off the main thread (where signals cannot be used)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise MeasureTimeout(f"exceeded its {seconds:.0f} s time limit")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def real_value(v: Any, name: str) -> tuple[float, str]:
    """(``v`` as a float, "") when measure ``name`` returned a real number: a Python or numpy
    int or float, or a one-element tensor or array of one; else (NaN, why). NaN and inf are
    the documented way to return a missing value, stored as missing ("returned nan"); a
    string ("1.5"), a bool, None or a complex number is a mistake, never converted."""
    if isinstance(v, torch.Tensor) and v.numel() == 1 or isinstance(v, np.ndarray) and v.size == 1:
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        shown = f"{v!r} ({type(v).__name__})" if isinstance(v, (str, bytes)) and len(v) <= 40 else type(v).__name__
        return math.nan, f"{name} returned {shown}, not a real number (return a float, or NaN for a missing value)"
    f = float(v)
    return (f, "") if math.isfinite(f) else (math.nan, f"returned {f}")


def _as_rows(step: int, name: str, value: Any, seconds: float) -> list[dict[str, Any]]:
    items = value.items() if isinstance(value, dict) else [(None, value)]
    rows = []
    for key, v in items:
        full = name if key is None else f"{name}/{key}"
        f, err = real_value(v, full)
        rows.append({"step": step, "measure": full, "value": f, "seconds": seconds, "error": err})
    return rows


def evaluate_run(task: Task, result: RunResult, measures: list[Measure],
                 call_limits: Mapping[str, float] | None = None, watch: Watch | None = None,
                 data: TaskData | None = None, device: str | torch.device = "cpu") -> dict[str, list[dict[str, Any]]]:
    """Values of each measure on the run's checkpoints: {measure name: rows}.

    call_limits: seconds per compute() call by cost tier (default CALL_LIMIT_S);
    watch: called around every compute() call (see ``Watch``);
    data: the run's TaskData when the caller has it (default: ``task.make_data``);
    device: where the model, the data and the weights are while measures compute.
    """
    call_limits = CALL_LIMIT_S if call_limits is None else call_limits
    variant = result.variant
    params = variant.param_dict
    data = (task.make_data(params, variant.seed) if data is None else data).to(device)
    model = task.make_model(params, variant.seed).to(device)
    model.eval()
    steps = sorted(result.checkpoints)
    on_device = lambda state: {k: v.to(device) for k, v in state.items()}  # noqa: E731
    init_state = on_device(result.checkpoints[steps[0]])
    metrics_at = {s: {c: result.metrics[c][i] for c in METRIC_COLUMNS} for i, s in enumerate(result.metrics["step"])}
    out: dict[str, list[dict[str, Any]]] = {m.name: [] for m in measures}
    applicable = [m for m in measures if m.applicable(task, model)]

    # a measure that ran past its time limit on this run is not called again on it: a hang
    # would cost the limit at every checkpoint; its later checkpoints are missing, with why
    given_up: dict[str, str] = {}
    # Every measure on every checkpoint (step 0, the schedule, T_mem): measures are
    # compared at the same moments (docs/protocol.md, "Checkpoints").
    for step in steps if applicable else []:
        state = on_device(result.checkpoints[step])
        model.load_state_dict(state)
        ctx = MeasureContext.for_run(task, params, variant.seed, data, step, init_state, metrics_at.get(step, {}))
        for m in applicable:
            if m.name in given_up:
                out[m.name].append(missing_row(step, m.name, given_up[m.name]))
                continue
            limit = call_limits[m.info.cost]
            if watch is not None:
                watch(m.name, step, limit)
            rows = _compute_isolated(m, model, ctx, state, limit)
            out[m.name].extend(rows)
            if watch is not None:
                watch(None, step, 0.0)
            if any(r["error"].startswith(f"{MeasureTimeout.__name__}:") for r in rows):
                given_up[m.name] = f"not called: it ran past its {limit:g} s time limit at step {step} of this run"
    return out


def missing_row(step: int, name: str, why: str) -> dict[str, Any]:
    """The row of a value not computed, with the reason."""
    return {"step": step, "measure": name, "value": math.nan, "seconds": math.nan, "error": why}


def _compute_isolated(m: Measure, model: torch.nn.Module, ctx: MeasureContext, state: dict,
                      limit: float | None = None) -> list[dict[str, Any]]:
    """One compute() call, its failures recorded; ``limit`` in seconds (default: the cost tier's)."""
    start = time.perf_counter()
    try:
        with time_limit(CALL_LIMIT_S[m.info.cost] if limit is None else limit):
            value = compute_measure(m, model, ctx)
        rows = _as_rows(ctx.step, m.name, value, time.perf_counter() - start)
    except Exception as exc:  # isolation: one measure's failure is a recorded reason, not a crash
        msg = str(exc).splitlines()[0] if str(exc) else ""
        rows = [{"step": ctx.step, "measure": m.name, "value": math.nan,
                 "seconds": time.perf_counter() - start, "error": f"{type(exc).__name__}: {msg}"[:300]}]
    current = model.state_dict()
    if any(not torch.equal(current[k], state[k]) for k in state):
        model.load_state_dict(state)
        for r in rows:
            r["value"], r["error"] = math.nan, "mutated the model (value discarded)"
    return rows
