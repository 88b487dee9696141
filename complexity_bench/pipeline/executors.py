"""Where jobs run: in this process, in a pool of worker processes, or on Ray.

Every worker runs with one torch thread (two threads per process on a busy
2-core machine were measured 80x slower: threads spin-wait), flushes denormal
floats, and re-imports the ``--plugin`` files so measures travel by name.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterable, Iterator

import torch

from complexity_bench.engine import denormals
from complexity_bench.engine.allocator import keep_freed_memory
from complexity_bench.errors import UserError
from complexity_bench.numerics import pin_mkl
from complexity_bench.pipeline.progress import route_warnings


def init_worker(plugin_paths: tuple[str, ...] = ()) -> None:
    """Per-process setup: MKL's CPU-independent path, one thread, no denormals, freed memory
    kept, plugins registered."""
    pin_mkl()  # before the worker's first computation (a Ray worker does not inherit the driver's environment)
    torch.set_num_threads(1)
    denormals.set_flush(True)  # a worker process is ours: flush for good
    keep_freed_memory()  # per-step buffers stay in the heap (allocator.py says why)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    route_warnings()  # each on its own line, never inside the progress bar (progress.py)
    from complexity_bench.contracts.plugins import load_plugins

    load_plugins(plugin_paths)


class SerialExecutor:
    """Runs jobs one after another in this process (``--workers 1``)."""

    def __init__(self, plugin_paths: tuple[str, ...] = ()):
        self.plugin_paths = plugin_paths

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        # this process is the caller's: give its thread count and denormal setting back
        threads, flushing = torch.get_num_threads(), denormals.flushing()
        init_worker(self.plugin_paths)
        try:
            for job in jobs:
                yield fn(job)
        finally:
            torch.set_num_threads(threads)
            denormals.set_flush(flushing)


class ProcessExecutor:
    """A pool of ``workers`` processes; results arrive as jobs finish."""

    def __init__(self, workers: int, plugin_paths: tuple[str, ...] = ()):
        self.workers = workers
        self.plugin_paths = plugin_paths

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        # spawn, not fork: a forked child inherits the parent's OpenMP thread pool state
        ctx = mp.get_context("spawn")
        jobs = list(jobs)
        with ProcessPoolExecutor(max(1, min(self.workers, len(jobs))), mp_context=ctx, initializer=init_worker,
                                 initargs=(self.plugin_paths,)) as pool:
            futures = [pool.submit(fn, job) for job in jobs]
            try:
                for fut in as_completed(futures):
                    yield fut.result()
            finally:  # a failed job (a full disk, say) ends the invocation now, not after every other job
                for fut in futures:
                    fut.cancel()


class RayExecutor:
    """Sends each job to a Ray cluster (or a local Ray instance when address is None)."""

    def __init__(self, address: str | None = None, plugin_paths: tuple[str, ...] = ()):
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'ray>=2.9' (or pip install -e '.[ray]')") from None
        self.ray = ray
        self.address = address
        self.plugin_paths = plugin_paths

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        plugin_paths = self.plugin_paths

        @ray.remote(num_cpus=1)
        def remote(job):
            init_worker(plugin_paths)
            return fn(job)

        pending = [remote.remote(job) for job in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])


EXECUTORS = ("local", "ray")


def make_executor(kind: str, workers: int, plugin_paths: tuple[str, ...] = (), ray_address: str | None = None):
    if kind == "local":
        return SerialExecutor(plugin_paths) if workers == 1 else ProcessExecutor(workers, plugin_paths)
    if kind == "ray":
        return RayExecutor(ray_address, plugin_paths)
    raise UserError(f"unknown executor {kind!r}; choose 'local' or 'ray'")
