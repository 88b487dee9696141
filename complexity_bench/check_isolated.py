"""``check-measure``'s conformance checks in a supervised child process, with time limits.

A plugin is code from anywhere: importing it or calling its ``compute()`` may call
``os._exit``, be killed (the OOM killer's SIGKILL), or hang. The checks
(:func:`complexity_bench.testing.check_measure`) therefore run in a child forked
from the evaluation fork server (pipeline/isolation.py), and this process watches it:

- each ``compute()`` call has its cost tier's limit (``evaluate.CALL_LIMIT_S``,
  enforced in the child by SIGALRM: a call past it fails the checks);
- a measure's whole check has ``CALLS`` such limits plus ``SETUP_S``, after which
  the child is killed (a call stuck where SIGALRM cannot reach);
- a child that dies, or is killed, fails the measure it was checking with the
  reason in one line (``worker died: exit code 3``); a fresh child checks the
  measures after it. A child that dies while importing the plugin is a UserError.
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from complexity_bench.errors import UserError
from complexity_bench.pipeline import evaluate
from complexity_bench.pipeline.isolation import WATCHDOG_GRACE_S, die_with_job, exit_reason, fork_context

CALLS = 4  # compute() calls in one check_measure at most (the first, again, another seed, the needs probe)
SETUP_S = 20.0  # the rest of one measure's check: three toy models trained for 30 steps, pickling
LOAD_S = 120.0  # importing the plugin file in the child


@dataclass
class Checked:
    """One measure's outcome: ``ok`` and the report's text (one line when the child died)."""

    name: str
    ok: bool
    text: str


def check_isolated(target: str, is_file: bool) -> list[Checked]:
    """The checks of the measure named ``target``, or of every measure the plugin file
    ``target`` defines, each in a supervised child. UserError: no such measure or file,
    or a plugin whose import ends the process."""
    results: list[Checked] = []
    todo: list[str] | None = None  # None: every measure of the target (the first child says which)
    while True:
        names, done, failed = _one_child(target, is_file, todo)
        results += done + ([failed] if failed else [])
        todo = names[len(done) + (failed is not None):]
        if failed is None or not todo:
            return results


def _one_child(target: str, is_file: bool, todo: list[str] | None) -> tuple[list[str], list[Checked], Checked | None]:
    """One child checks ``todo`` (None: every measure of the target) in order; returns
    (the measures it was to check, the checks it finished, the check that ended it or None)."""
    ctx = fork_context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child_main, args=(child, target, is_file, todo, dict(evaluate.CALL_LIMIT_S)),
                       name="complexity_bench-check")
    proc.start()
    child.close()
    names: list[str] = list(todo or [])
    done: list[Checked] = []
    running: str | None = None
    budget = LOAD_S
    deadline = time.monotonic() + budget
    try:
        while True:
            ready = wait([parent, proc.sentinel], None if deadline == math.inf else max(0.0, deadline - time.monotonic()))
            message = _receive(parent) if parent in ready else None
            if message is None:  # the child is gone (its exit code says how), or ran out of time
                if not ready:
                    proc.kill()
                proc.join()
                reason = exit_reason(proc.exitcode) if ready else \
                    f"took longer than {budget:.0f} s in all, ended by the watchdog (stuck where SIGALRM cannot interrupt?)"
                break
            kind, *payload = message
            if kind == "error":
                raise UserError(payload[0])
            if kind == "names" and todo is None:
                names = payload[0]
            elif kind == "start":
                running, limit = payload
                budget = CALLS * limit + WATCHDOG_GRACE_S + SETUP_S
                deadline = time.monotonic() + budget
            elif kind == "report":
                done.append(Checked(*payload))
                running, deadline = None, math.inf
            elif kind == "finished":
                return names, done, None
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if running is None:
        raise UserError(f"{target!r}: the process checking it ended while loading it ({reason})")
    return names, done, Checked(running, False, f"check_measure({running}): FAILED: the process checking it "
                                                f"ended ({reason})")


def _receive(conn: Connection) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _child_main(conn: Connection, target: str, is_file: bool, todo: list[str] | None,
                call_limits: dict[str, float]) -> None:
    """In the child: load the target, then check each measure, reporting as it goes."""
    die_with_job()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; this child dies with it
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.contracts.plugins import load_plugins
    from complexity_bench.testing import check_measure

    try:
        if is_file:
            names = [n for n in load_plugins([target]) if n in MEASURES]
            if not names:
                raise UserError(f"{target!r} defines no measure")
        else:
            names = [MEASURES.get(target).name]  # unknown name: one line with "did you mean"
    except UserError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("names", names))
    for name in todo if todo is not None else names:
        limit = call_limits[MEASURES.get(name).info.cost]
        conn.send(("start", name, limit))
        report = check_measure(name, raise_on_failure=False, call_limit=limit)
        conn.send(("report", name, report.ok, str(report)))
    conn.send(("finished",))
