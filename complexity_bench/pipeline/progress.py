"""``run``'s progress: training steps as they are taken, runs as they finish, warnings on their own lines.

What is counted. The planned optimizer steps of every run, summed over runs
(``Task.recipe(params).steps``): a cohort of 15 runs that steps once advances
the count by 15 (engine/step_progress.py). A job's steps are reported from its
worker at most every ``SEND_EVERY_S`` seconds; when the job ends, whatever it
planned but did not train (runs found in the store, runs stopped early) is
counted too, so the count ends at its total. Runs finished are counted as jobs
end (a job also evaluates its measures after training). With ``--executor ray``
only runs are counted (a Ray worker cannot reach this process's queue).

How it is shown. On a terminal: one tqdm bar (steps, rate, time left) with the
runs done beside it. Anywhere else (a log file, CI): one plain line every
``LINE_EVERY_S`` seconds and when a job ends, never a carriage return.

Warnings. Worker processes write each warning as one whole line; on a terminal
it first clears the line the bar is drawn on, so it never lands inside the bar
(the bar is redrawn below it). In this process warnings and log records go
through ``tqdm.write`` while the bar is shown.
"""

from __future__ import annotations

import logging
import queue as queue_module
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterator, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from complexity_bench.engine import step_progress

SEND_EVERY_S = 0.5  # a worker's step reports: often enough to move the bar, rarely enough to cost nothing
LINE_EVERY_S = 30.0  # plain-line mode: one line this often (and at each job's end)
CLEAR_LINE = "\r\x1b[K"  # carriage return, then erase to the end of the line (a terminal's bar line)


# -- warnings ---------------------------------------------------------------------------------------------
def _whole_line(text: str, stream: TextIO) -> str:
    return (CLEAR_LINE if getattr(stream, "isatty", lambda: False)() else "") + text


def show_warning_on_own_line(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for worker processes: the warning as one write of whole lines."""
    stream = file if file is not None else sys.stderr
    try:
        stream.write(_whole_line(warnings.formatwarning(message, category, filename, lineno, line), stream))
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr: the warning is lost, not the job
        pass


class _OwnLineHandler(logging.StreamHandler):
    """Python's last-resort log handler (records logged with no handler configured), one whole line each."""

    def format(self, record: logging.LogRecord) -> str:
        return _whole_line(super().format(record), self.stream)


def route_warnings() -> None:
    """In a worker process: warnings and unhandled log records each on their own line (see module doc)."""
    warnings.showwarning = show_warning_on_own_line
    handler = _OwnLineHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    logging.lastResort = handler


@contextmanager
def _warnings_through_tqdm() -> Iterator[None]:
    """In this process, while the bar is shown: warnings and log records above the bar."""
    shown = warnings.showwarning

    def above_bar(message, category, filename, lineno, file=None, line=None):
        tqdm.write(warnings.formatwarning(message, category, filename, lineno, line).rstrip("\n"), file=sys.stderr)

    warnings.showwarning = above_bar
    try:
        with logging_redirect_tqdm():
            yield
    finally:
        warnings.showwarning = shown


# -- the worker's side ------------------------------------------------------------------------------------
class StepSender:
    """Collects ``step_progress.trained`` counts and puts their sum on ``queue`` at most every SEND_EVERY_S."""

    def __init__(self, queue: Any):
        self.queue, self.pending, self.sent, self.last = queue, 0, 0, time.monotonic()

    def __call__(self, run_steps: int) -> None:
        self.pending += run_steps
        if time.monotonic() - self.last >= SEND_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.queue.put(self.pending)
            self.sent, self.pending = self.sent + self.pending, 0
        self.last = time.monotonic()


def planned_steps(job: Any) -> int:
    """The optimizer steps a job's runs plan, summed over its runs."""
    from complexity_bench.contracts.task import get_task

    task = get_task(job.task)
    return sum(int(task.recipe(v.param_dict).steps) for v in job.variants)


def run_job_reporting(queue: Any, job: Any) -> Any:
    """``run_job(job)``, its steps reported on ``queue`` as they are trained, its planned total at the end."""
    from complexity_bench.pipeline.jobs import run_job

    sender = StepSender(queue)
    with step_progress.listening(sender):
        outcome = run_job(job)
    sender.flush()
    sender.pending = max(planned_steps(job) - sender.sent, 0)  # stored runs, runs that stopped early
    sender.flush()
    return outcome


# -- this process's side ----------------------------------------------------------------------------------
class SuiteProgress:
    """The display for one ``run`` (see the module docstring); ``enabled=False`` shows nothing."""

    def __init__(self, jobs: list, total_runs: int, enabled: bool, stream: TextIO | None = None,
                 steps: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.total_runs, self.runs_done = enabled, total_runs, 0
        self.total_steps = sum(planned_steps(j) for j in jobs) if steps else 0
        self.steps_done, self.started, self.last_line = 0, time.perf_counter(), 0.0
        self.bar = None
        self.terminal = enabled and getattr(self.stream, "isatty", lambda: False)()
        self._lock = threading.Lock()

    # the numbers
    def add_steps(self, n: int) -> None:
        with self._lock:
            self.steps_done += n
            if self.bar is not None:
                self.bar.update(n)
        self._maybe_line()

    def job_done(self, runs: int, task: str) -> None:
        with self._lock:
            self.runs_done += runs
            if self.bar is not None:
                if not self.total_steps:  # a bar of runs
                    self.bar.update(runs)
                self.bar.set_postfix_str(self._runs_text(task), refresh=True)
        self._maybe_line(force=True)

    def _runs_text(self, task: str | None = None) -> str:
        last = f", last: {task}" if task else ""
        return f"{self.runs_done}/{self.total_runs} runs done{last}"

    # plain lines
    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        parts = []
        if self.total_steps:
            share = self.steps_done / self.total_steps
            parts.append(f"{self.steps_done:,}/{self.total_steps:,} train steps ({share:.0%}), "
                         f"{self.steps_done / max(elapsed, 1e-9):,.0f} steps/s")
        parts.append(self._runs_text())
        return f"progress: {'; '.join(parts)}; {elapsed:,.0f} s"

    def _maybe_line(self, force: bool = False) -> None:
        if not self.enabled or self.terminal:
            return
        now = time.perf_counter()
        if force or now - self.last_line >= LINE_EVERY_S:
            self.last_line = now
            print(self.line(), file=self.stream, flush=True)

    # showing it
    @contextmanager
    def shown(self) -> Iterator["SuiteProgress"]:
        if not self.terminal:
            yield self
            return
        total, unit = (self.total_steps, "step") if self.total_steps else (self.total_runs, "run")
        with tqdm(total=total, unit=unit, unit_scale=total >= 10_000, desc="training", file=self.stream,
                  dynamic_ncols=True) as bar, _warnings_through_tqdm():
            bar.set_postfix_str(self._runs_text())
            self.bar = bar
            try:
                yield self
            finally:
                self.bar = None


def execute_with_progress(executor: Any, jobs: list, total_runs: int, enabled: bool,
                          stream: TextIO | None = None) -> Iterator[Any]:
    """Each job's outcome as it finishes, with ``run``'s progress shown meanwhile (module docstring)."""
    from complexity_bench.pipeline.executors import ProcessExecutor, SerialExecutor
    from complexity_bench.pipeline.jobs import run_job

    reporting = enabled and isinstance(executor, (SerialExecutor, ProcessExecutor))
    progress = SuiteProgress(jobs, total_runs, enabled, stream, steps=reporting)
    with _step_queue(executor if reporting else None) as queue, progress.shown():
        fn: Callable[[Any], Any] = partial(run_job_reporting, queue) if queue is not None else run_job
        reader = threading.Thread(target=_read_steps, args=(queue, progress), daemon=True)
        if queue is not None:
            reader.start()
        try:
            for outcome in executor.map_unordered(fn, jobs):
                progress.job_done(outcome.runs, outcome.task)
                yield outcome
        finally:
            if queue is not None:
                queue.put(None)  # behind every step count the finished jobs sent
                reader.join(timeout=10)


def _read_steps(queue: Any, progress: SuiteProgress) -> None:
    while True:
        try:
            n = queue.get()
        except (EOFError, OSError):  # the queue's manager has gone: nothing more to show
            return
        if n is None:
            return
        progress.add_steps(n)


@contextmanager
def _step_queue(executor: Any) -> Iterator[Any]:
    """A queue the jobs' processes can put on (None without an executor): in-process for the serial
    executor, a managed one for a process pool."""
    from complexity_bench.pipeline.executors import ProcessExecutor

    if executor is None:
        yield None
    elif not isinstance(executor, ProcessExecutor):
        yield queue_module.Queue()
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Manager() as manager:  # spawn, as the pool (executors.py says why)
            yield manager.Queue()
