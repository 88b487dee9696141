"""Measure evaluation in a supervised child process.

A measure is code from anywhere (a ``--plugin`` file, an installed package),
and some failures cannot be caught inside the process that runs it: a call to
``os._exit``, a segfault in an extension, the kernel's OOM killer, or a call
stuck in C code where SIGALRM cannot interrupt it. So a job evaluates its
measures in one child process (per job, reused across the job's runs) and
watches it:

- before and after each ``compute()`` call the child reports which measure is
  running (``evaluate.Watch``);
- when the child dies, the measure that was running gets missing values on
  that run with the reason (``worker died: exit code 1``,
  ``worker died: killed by signal 11 (SIGSEGV)``); a fresh child evaluates the
  run's other measures;
- when a call outlives its cost tier's limit (``evaluate.CALL_LIMIT_S``) by
  ``WATCHDOG_GRACE_S`` (SIGALRM gets the first chance at the limit itself),
  the watchdog kills the child, with the same outcome.

The failure is stored like any other missing value, so a re-run does not try
the measure on that run again (measures are deterministic: it would die again).
Delete the values file, or bump the measure's version, to retry.

Children are forked by a fork server (started once per process, with torch, the
evaluation code and the registered measures and tasks imported), not spawned:
measured on the project's 2-core machine under load (scripts/isolation_overhead.py),
a child costs 0.05-0.14 s per job, while the fork server's start (2.8-3.5 s, what a
fresh interpreter would cost every time) is paid once per worker process. They are not forked from the job
process, which may hold OpenMP or other threads' state (executors.py says why the pool
spawns). The child gets each run's checkpoints and task data from the job as bytes
(``torch.save``), so it neither reads the store nor rebuilds the data.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib
import io
import math
import multiprocessing as mp
import os
import signal
import sys
import time
from multiprocessing.connection import Connection, wait
from typing import Any

import torch

from complexity_bench.pipeline import evaluate
from complexity_bench.errors import UserError
from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.contracts.measure import Measure, get_measure
from complexity_bench.contracts.registry import PLUGIN_MODULE_PREFIX
from complexity_bench.contracts.task import Task, TaskData, Variant, get_task
from complexity_bench.engine.training import RunResult, compute_events

# Seconds past a call's limit before the watchdog kills the evaluation process.
WATCHDOG_GRACE_S = 5.0

Rows = list[dict[str, Any]]


def exit_reason(exitcode: int | None) -> str:
    """How a child ended, in the words stored in ``error``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = f" ({signal.Signals(-exitcode).name})"
        except ValueError:
            name = ""
        return f"worker died: killed by signal {-exitcode}{name}"
    return f"worker died: exit code {exitcode}"


def measure_source(m: Measure) -> tuple[str, str] | None:
    """What a fresh process imports to register ``m`` (see ``source_of``)."""
    fn = getattr(m, "fn", None)
    return source_of(fn if fn is not None else type(m))  # the decorated function or class


def source_of(defined: Any) -> tuple[str, str] | None:
    """What a fresh process imports to register the measure or task defined by the
    function or class ``defined``: ("file", path) for a plugin file, ("module", name)
    for a module, or None (defined in ``__main__``, or not at a module's top level:
    not importable, so evaluated in this process, unisolated)."""
    module_name = getattr(defined, "__module__", None)
    module = sys.modules.get(module_name or "")
    if module is None or module_name == "__main__" or getattr(module, getattr(defined, "__name__", ""), None) \
            is not defined:
        return None
    if module_name.startswith(PLUGIN_MODULE_PREFIX):
        path = getattr(module, "__file__", None)
        return ("file", path) if path else None
    return ("module", module_name) if getattr(module, "__spec__", None) is not None else None


def die_with_job() -> None:
    """Linux: have the kernel SIGKILL this process when the job that started it dies
    (even by SIGKILL, even while a measure holds the GIL in C code).

    The kernel signals the death of the parent, here the fork server; the fork server
    exits when no process holds its "alive" pipe, which the job holds and every child
    inherits. So the child gives up its copy: then the job's death ends the server,
    and that ends the child."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        os.close(server._forkserver_alive_fd)
        server._forkserver_alive_fd = None
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: a stuck orphan lives until its call returns
        pass


def _child_main(conn: Connection, sources: tuple[tuple[str, str], ...]) -> None:
    """The evaluation process: register the measures, then evaluate runs on request."""
    die_with_job()
    # Ctrl-C reaches the whole process group: the job decides (it ends this child on the way
    # out), so an interrupt is never mistaken for a measure's death and stored as one
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from complexity_bench.pipeline.executors import init_worker

    init_worker(tuple(src for kind, src in sources if kind == "file"))
    for kind, src in sources:
        if kind == "module":
            importlib.import_module(src)

    def watch(name: str | None, step: int, limit: float) -> None:
        conn.send(("call", name, step, limit))

    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        variant, blob, names, call_limits, device = request
        try:
            measures = [get_measure(n) for n in names]
        except UserError as exc:  # its module registers it only when something runs, not on import
            conn.send(("error", f"{exc}; in a fresh process, importing the module that defines a measure must "
                                "register it (use the decorators at the top level, or a --plugin file)"))
            continue
        try:
            task = get_task(variant.task)
            result, data = unpack_run(task, variant, blob)
            values = evaluate_run(task, result, measures, call_limits, watch, data, device)
        except Exception as exc:  # not a measure's failure (those are rows): report it to the parent
            import traceback

            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
            continue
        conn.send(("done", values))


def fork_context() -> Any:
    ctx = mp.get_context("forkserver")
    # what the fork server imports once, so no child does: torch, the evaluation code,
    # the registered measures and tasks (no effect once the server runs)
    ctx.set_forkserver_preload(["complexity_bench.pipeline.isolation", "complexity_bench.pipeline.evaluation_preload"])
    return ctx


def pack_run(result: RunResult, data: TaskData) -> bytes:
    """A run's metrics and checkpoints and its task data, as bytes for the child: the
    child neither reads the store nor rebuilds the data (the digits task's first
    ``make_data`` imports scikit-learn: 2.6 s)."""
    buf = io.BytesIO()
    torch.save({"metrics": result.metrics, "checkpoints": result.checkpoints, "seconds": result.seconds,
                "engine": result.engine,
                "data": {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}}, buf)
    return buf.getvalue()


def unpack_run(task: Task, variant: Variant, blob: bytes) -> tuple[RunResult, TaskData]:
    d = torch.load(io.BytesIO(blob), weights_only=True)
    events = compute_events(task, variant, d["metrics"])
    return RunResult(variant, d["metrics"], d["checkpoints"], d["seconds"], d["engine"], events=events), \
        TaskData(**d["data"])


class IsolatedEvaluator:
    """Evaluates measures on runs of one task in a supervised child process.

    Use as a context manager; the child starts on the first run that needs it.
    """

    def __init__(self, task: Task, device: str = "cpu"):
        self.task = task
        self.device = device
        self._proc: Any = None
        self._conn: Connection | None = None
        self._sources: tuple[tuple[str, str], ...] = ()

    def __enter__(self) -> "IsolatedEvaluator":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(now=exc_type is not None)

    def close(self, now: bool = False) -> None:
        """Stop the child: asked to finish (waiting up to 5 s), or killed at once when ``now``."""
        if self._proc is None:
            return
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._reap(wait_s=0 if now else 5)

    def evaluate(self, result: RunResult, measures: list[Measure]) -> dict[str, Rows]:
        """{measure name: rows}, as ``evaluate_run``; a measure whose call ended the
        child has one row per checkpoint of the run, with the reason in ``error``."""
        task_source = source_of(type(self.task))
        sources = {m.name: measure_source(m) if task_source else None for m in measures}
        local = [m for m in measures if sources[m.name] is None]
        out = evaluate_run(self.task, result, local, device=self.device) if local else {}
        todo = [m for m in measures if sources[m.name] is not None]
        needed = tuple(dict.fromkeys([task_source, *(s for s in sources.values() if s is not None)]))
        blob = pack_run(result, self.task.make_data(result.variant.param_dict, result.variant.seed)) if todo else b""
        retried = False
        while todo:
            if self._proc is not None and not set(needed) <= set(self._sources):
                self.close()  # a measure from a module this child has not imported
            values, culprit, reason = self._attempt(result.variant, blob, todo, needed)
            if values is not None:
                out.update(values)
                break
            if culprit is None and not retried:
                retried = True  # died between calls (unpacking the run, building the model?): once more
                continue
            failed = [m for m in todo if culprit is None or m.name == culprit]
            if culprit is None:
                reason = f"{reason} (outside any measure's call)"
                failed = [m for m in failed if m.applicable(self.task, None)]
            for m in failed:
                out[m.name] = failure_rows(result, m, reason)
            todo = [m for m in todo if m not in failed] if culprit is not None else []
        return {m.name: out.get(m.name, []) for m in measures}

    def _start(self, sources: tuple[tuple[str, str], ...]) -> None:
        ctx = fork_context()
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child_main, args=(child, sources), name="complexity_bench-measures")
        self._proc.start()
        child.close()
        self._conn, self._sources = parent, sources

    def _attempt(self, variant: Variant, blob: bytes, measures: list[Measure],
                 sources: tuple[tuple[str, str], ...]) -> tuple[dict[str, Rows] | None, str | None, str]:
        """One try: (values, None, "") or (None, measure that was running or None, why it failed)."""
        if self._proc is None:
            self._start(sources)
        try:
            self._conn.send((variant, blob, tuple(m.name for m in measures), dict(evaluate.CALL_LIMIT_S), self.device))
        except OSError:
            pass  # the child is already gone: its sentinel says how
        running: str | None = None  # the measure whose compute() call is in progress
        limit, deadline = 0.0, math.inf
        while True:
            timeout = None if deadline == math.inf else max(0.0, deadline - time.monotonic())
            ready = wait([self._conn, self._proc.sentinel], timeout)
            if not ready:  # a call outlived its limit where SIGALRM could not end it
                self._proc.kill()
                self._reap()
                return None, running, (f"exceeded its {limit:.0f} s time limit "
                                       "(ended by the watchdog: stuck where SIGALRM cannot interrupt)")
            if self._conn in ready:  # messages sent before a death are read first
                try:
                    kind, *payload = self._conn.recv()
                except (EOFError, OSError):
                    kind = "gone"
                if kind == "call":
                    running, _step, limit = payload
                    deadline = math.inf if running is None else time.monotonic() + limit + WATCHDOG_GRACE_S
                    continue
                if kind == "done":
                    return payload[0], None, ""
                if kind == "error":
                    raise RuntimeError(f"measure evaluation failed on run {variant.run_id}: {payload[0]}")
            exitcode = self._reap()
            return None, running, exit_reason(exitcode)

    def _reap(self, wait_s: float = 5) -> int | None:
        """Wait up to ``wait_s`` for the child to end, then kill it; returns its exit code."""
        self._proc.join(timeout=wait_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        exitcode = self._proc.exitcode
        self._conn.close()
        self._proc, self._conn = None, None
        return exitcode


def failure_rows(result: RunResult, m: Measure, reason: str) -> Rows:
    """One missing value per checkpoint of the run, with the reason."""
    steps = sorted(result.checkpoints)  # every measure is due on every checkpoint (evaluate.py)
    return [evaluate.missing_row(s, m.name, reason) for s in steps]
