"""``python -m complexity_bench bench [--json] [--quick]``: speed of this machine for the suite.

Everything is measured here, now, on the machine it runs on (docs/performance.md); nothing is
a stored figure. Speed ratios are measured side by side in one process so a
noisy or shared machine affects both sides alike. Torch runs with one thread per
process (with more threads per process on a busy machine, steps get many times
slower: see docs/performance.md).

Reported (JSON keys):

- ``machine``: CPU model, logical cores, torch version.
- ``matmul_gflops``: float32 matmul (n = 1024) with every core busy: one process
  per core, one torch thread each, rates summed (best of a measurement at the start
  and one next to the all-core training); ``matmul_gflops_one_core`` alone.
- ``training_gflops``: the paper's net (modadd-mlp) trained by the cohort engine (8
  runs: what the harness trains with), one process: 6 · train samples · parameters
  per run-step / seconds per run-step (forward 2, backward 4 flops per sample and
  parameter); ``training_gflops_loop`` the same for the plain loop (one run);
  ``training_efficiency(_loop)`` = those over the one-core matmul rate.
- ``vmap`` / ``vmap_speedup``: the same comparison for the generic (vmap) cohort
  engine on the transformer (modadd-transformer, 8 runs, 100 steps), which the
  hand-written engine cannot stack.
- ``families``: per task family, loop vs cohort seconds for the same runs (8: what
  the harness forms from a task's 15 default-suite runs on 2 workers) and steps
  (evaluations included at the task's own average spacing), and the speedup.
  ``cohort_speedup`` is the family with the smallest net at the largest size in
  ``cohort_speedup_by_runs`` (4, 8, 16 runs; 16 = one cohort per task);
  ``cohort_speedup_paper_net`` is modadd-mlp at 8 runs.
- ``worker_scaling``: the same independent jobs (cohorts of paper-net runs, as the
  harness makes them) with 1 vs 2 worker processes (time with 1 / time with 2).
- ``training_gflops_all_cores``: one process per core, each stepping a cohort of
  paper-net runs (no evaluation) over the same time window, rates summed (the
  training counterpart of ``matmul_gflops``), and
  ``training_efficiency_all_cores`` = that over ``matmul_gflops``;
  ``training_gflops_all_cores_jobs`` / ``training_efficiency_all_cores_jobs``: the
  same from the worker-scaling run's 2-worker time (whole jobs: set-up and
  evaluations included, not counted as flops).
- ``lmn_seconds_n961``: ``measures.lmn.linear_mapping_number`` on a paper-sized tail
  Linear(100,100)-SiLU-Linear(100,31) at N = 961 (null with a note when absent).
- ``measure_seconds``: seconds per checkpoint of every registered measure on each default-suite
  task's model after a short training (``complexity_bench.measure_costs``; the quick bench: the
  paper's net only, cheap and moderate tiers, one timed call).
- ``denormal_slowdown``: step time late in a run (modadd-mlp, weight decay 0, trained
  ``after_steps`` steps without flushing) with denormals kept / flushed, and the share
  of denormal values in its weights and Adam state; ``denormal_kernel_slowdown``: the
  same ratio for an elementwise op on all-denormal inputs (the mechanism's size here).
- ``mkl_cbwr`` / ``mkl_cbwr_slowdown``: training time with MKL's CPU-independent path
  (``MKL_CBWR=COMPATIBLE``, what ``run`` sets: numerics.py) over the time with this
  CPU's own MKL path, the same cohort in fresh processes side by side (bench_numerics.py);
  the slowdown is sparse parity's, the task whose events moved between CPUs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

import torch

from complexity_bench.engine.cohort import lockstep_stepper, train_cohort
from complexity_bench.engine.select import cohort_engines
from complexity_bench.contracts.task import Recipe, Task, Variant, get_task, TASKS
from complexity_bench.engine.allocator import keep_freed_memory
from complexity_bench.engine.denormals import flushing_denormals
from complexity_bench.engine.training import make_optimizer, minibatches, train_run
from complexity_bench.bench_numerics import COST_TASKS, mkl_cbwr_cost
from complexity_bench.numerics import cpu_model
from complexity_bench.pipeline.executors import init_worker

PAPER_TASK = "modadd-mlp"
# the generic (vmap) engine's task: a model the hand-written engine cannot stack
VMAP_TASK = "modadd-transformer"
# task families compared loop vs cohort (one representative task each; missing ones are skipped)
FAMILY_TASKS = ("teacher-student", "sparse-parity", "digits-mlp", "modadd-mlp", "modadd-relu", "s4-mlp", "xor-mlp")


# --------------------------------------------------------------------------- set-up helpers
def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            # other processes on the machine change every figure but the side-by-side ratios
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def truncated(task: Task, steps: int) -> Task:
    """The task with a budget of ``steps`` and no early stop, evaluated and
    checkpointed at the *average* spacing of its full-budget schedule, so a short
    timing run has the same mix of steps and evaluations as a real one (the real
    schedule is log-dense at the start, which would overweight evaluation)."""
    base = type(task)
    full = int(task.resolve({})["steps"])
    eval_every = max(1, round(full / max(len(task.eval_steps(full)) - 1, 1)))
    keep_every = max(1, round(full / max(len(task.checkpoint_steps(full)) - 1, 1)))

    class Truncated(base):  # type: ignore[misc, valid-type]
        def recipe(self, params):
            r = base.recipe(self, params)
            return Recipe(**{**r.__dict__, "steps": steps, "stop_factor": None})

        def eval_steps(self, s):
            return sorted({0, s, *range(0, s + 1, eval_every)})

        def checkpoint_steps(self, s):
            return sorted({0, s, *range(0, s + 1, keep_every)})

    Truncated.__name__ = f"Truncated[{task.name}]"
    return Truncated()


def bench_variants(task: Task, n_runs: int) -> list[Variant]:
    """Up to ``n_runs`` variants of the task's full grid (mixed hyperparameters and
    seeds, as the harness groups them), with the default budget."""
    out: list[Variant] = []
    for suite in ("full", "default", "smoke"):
        try:
            out = [v for v in task.variants(suite) if v.param_dict.get("steps") == task.resolve({})["steps"]] \
                or task.variants(suite)
        except Exception:
            continue
        if out:
            break
    base = out or [task.variant({}, seed=0)]
    # more seeds of the same grid: copy k of the grid gets seeds shifted by 100 k, so no run repeats
    return [Variant(v.task, v.params, v.seed + 100 * (i // len(base)), v.task_version)
            for i, v in ((i, base[i % len(base)]) for i in range(n_runs))]


def n_parameters(task: Task) -> int:
    return sum(p.numel() for p in task.make_model(task.resolve({}), 0).parameters())


# --------------------------------------------------------------------------- measurements
def _matmul_worker(args: tuple[int, float]) -> float:
    n, seconds = args
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def matmul_gflops(processes: int, seconds: float, n: int = 1024) -> float:
    """Summed float32 matmul GFLOP/s of ``processes`` processes with one thread each."""
    with ProcessPoolExecutor(processes, initializer=init_worker) as pool:
        return float(sum(pool.map(_matmul_worker, [(n, seconds)] * processes)))


def cohort_vs_loop(task: Task, n_runs: int, steps: int, repeats: int = 1, engine: str = "cohort") -> dict[str, Any]:
    """Same runs, same steps: loop (one run after another) vs a cohort engine (``engine``:
    a key of engine/select.py's cohort_engines()), alternated ``repeats`` times in this
    process; best time of each side."""
    compatible, train_together = cohort_engines()[engine]
    short = truncated(task, steps)
    variants = bench_variants(task, n_runs)
    ok = compatible(short, variants)
    # untimed warm-up of both engines (first calls pay one-off set-up costs that would
    # otherwise land on whichever side is timed first)
    tiny = truncated(task, 2)
    train_run(tiny, variants[0])
    if ok:
        train_together(tiny, variants[:2])
    loop_t, cohort_t = math.inf, math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for v in variants:
            train_run(short, v)
        loop_t = min(loop_t, time.perf_counter() - t0)
        if ok:
            t0 = time.perf_counter()
            train_together(short, variants)
            cohort_t = min(cohort_t, time.perf_counter() - t0)
    return {"task": task.name, "engine": engine, "parameters": n_parameters(task), "runs": len(variants),
            "steps": steps, "loop_seconds": loop_t, "cohort_seconds": cohort_t if ok else None,
            "speedup": loop_t / cohort_t if ok else None, "compatible": ok}


def loop_stepper(task: Task, variant: Variant) -> Callable[[], None]:
    """One training step of the plain loop per call (no evaluation), as train_run does it."""
    params = variant.param_dict
    recipe = task.recipe(params)
    data = task.make_data(params, variant.seed)
    model = task.make_model(params, variant.seed)
    opt = make_optimizer(model.parameters(), recipe)
    batches = minibatches(len(data.train_idx), recipe.batch_size, variant.seed)
    x, y = data.x_train, data.y_train

    def step() -> None:
        idx = next(batches)
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        opt.zero_grad(set_to_none=True)
        task.loss(model(xb), yb).backward()
        opt.step()

    return step


def cohort_stepper(task: Task, n_runs: int) -> Callable[[], None]:
    """One training step of ``n_runs`` runs in lock-step per call (no evaluation), as
    train_cohort takes it."""
    return lockstep_stepper(task, bench_variants(task, n_runs))


def step_seconds(step: Callable[[], None], steps: int, warm: int = 20) -> float:
    """Seconds per call of ``step`` after ``warm`` untimed calls."""
    for _ in range(warm):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def _samples(task: Task) -> int:
    """Train samples per step of the task's default variant (its batch, or the train set)."""
    v = task.variant({}, seed=0)
    n_train = len(task.make_data(v.param_dict, v.seed).train_idx)
    return min(task.recipe(v.param_dict).batch_size or n_train, n_train)


def training_gflops(task: Task, steps: int, runs: int, repeats: int = 3) -> dict[str, Any]:
    """6 · samples · parameters per step / seconds per step, for the plain loop (one
    run) and for a cohort of ``runs`` runs (what the harness trains with), one process:
    ``steps`` run-steps each, alternated ``repeats`` times, best of each side."""
    samples, params = _samples(task), n_parameters(task)
    loop, cohort = loop_stepper(task, task.variant({}, seed=0)), cohort_stepper(task, runs)
    loop_sec = cohort_sec = math.inf
    for _ in range(repeats):
        loop_sec = min(loop_sec, step_seconds(loop, steps))
        cohort_sec = min(cohort_sec, step_seconds(cohort, max(1, steps // runs)) / runs)
    return {"samples": samples, "parameters": params, "cohort_runs": runs,
            "loop": {"step_seconds": loop_sec, "gflops": 6 * samples * params / loop_sec / 1e9},
            "cohort": {"step_seconds_per_run": cohort_sec, "gflops": 6 * samples * params / cohort_sec / 1e9}}


def _training_worker(args: tuple[str, int, float, float]) -> float:
    """GFLOP/s of cohort training steps (no evaluation) in this process, timed from
    the wall-clock time ``start_at`` for ``seconds``, so that every process measures
    while every other one is busy too."""
    name, runs, start_at, seconds = args
    task = get_task(name)
    step = cohort_stepper(task, runs)
    for _ in range(3):
        step()
    while time.time() < start_at:
        step()
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        reps += 1
    return 6 * _samples(task) * n_parameters(task) * runs * reps / (time.perf_counter() - start) / 1e9


def training_gflops_all_cores(task: Task, runs: int, processes: int, seconds: float) -> float:
    """Summed training GFLOP/s of ``processes`` processes, each stepping a cohort of
    ``runs`` runs (one torch thread each): the training counterpart of matmul_gflops."""
    start_at = time.time() + 5.0  # after every process has built its cohort and warmed up
    with ProcessPoolExecutor(processes, initializer=init_worker) as pool:
        return float(sum(pool.map(_training_worker, [(task.name, runs, start_at, seconds)] * processes)))


def _full_batch_step(task: Task, model, opt, data) -> None:
    opt.zero_grad(set_to_none=True)
    task.loss(model(data.x_train), data.y_train).backward()
    opt.step()


def _late_state(task: Task, warm_steps: int) -> tuple:
    v = task.variant({"weight_decay": 0.0}, seed=0)
    params = v.param_dict
    recipe = task.recipe(params)
    data = task.make_data(params, v.seed)
    model = task.make_model(params, v.seed)
    opt = make_optimizer(model.parameters(), recipe)
    for _ in range(warm_steps):
        _full_batch_step(task, model, opt, data)
    return task, model, opt, data


def denormal_slowdown(task: Task, warm_steps: int, steps: int) -> dict[str, Any]:
    """Step time late in a run with denormals kept vs flushed, alternated from the
    same state (copies), plus the share of denormal values in weights and Adam state."""
    import copy

    # the state a run reaches *without* flushing (with flushing there is nothing to flush)
    torch.set_flush_denormal(False)
    _, model, opt, data = _late_state(task, warm_steps)
    tiny = torch.finfo(torch.float32).tiny
    tensors = [p.detach() for p in model.parameters()] + [
        t for st in opt.state.values() for t in st.values() if torch.is_tensor(t) and t.numel() > 1]
    total = sum(t.numel() for t in tensors)
    times = {True: math.inf, False: math.inf}
    denormal_share = None
    for _ in range(2):
        for flush in (False, True):
            m, o = copy.deepcopy(model), None
            o = make_optimizer(m.parameters(), task.recipe(task.variant({"weight_decay": 0.0}).param_dict))
            o.load_state_dict(opt.state_dict())
            torch.set_flush_denormal(flush)
            times[flush] = min(times[flush], step_seconds(lambda: _full_batch_step(task, m, o, data), steps, warm=0))
            if not flush and denormal_share is None:
                ts = [p.detach() for p in m.parameters()] + [
                    t for st in o.state.values() for t in st.values() if torch.is_tensor(t) and t.numel() > 1]
                denormal_share = sum(int(((t != 0) & (t.abs() < tiny)).sum()) for t in ts) / total
    torch.set_flush_denormal(True)
    return {"task": task.name, "after_steps": warm_steps, "step_seconds_denormals_kept": times[False],
            "step_seconds_flushed": times[True], "slowdown": times[False] / times[True],
            "denormal_share_unflushed": denormal_share}


def denormal_kernel_slowdown(n: int = 1 << 18, reps: int = 20) -> float:
    """Synthetic: ``sqrt`` (AdamW takes it of ``exp_avg_sq`` every step) of all-denormal
    float32 inputs, kept vs flushed: the mechanism's size on this CPU, whatever a real
    run's share of denormals is. (On the AMD EPYC of docs/performance.md, sqrt is
    several times slower on denormals while add and multiply are not.)"""
    x = torch.full((n,), 1e-39)  # below float32's smallest normal, 1.18e-38
    out = torch.empty(n)
    times = {}
    for flush in (False, True, False, True):
        torch.set_flush_denormal(flush)
        x = torch.full((n,), 1e-39)  # re-created: with flushing on it reads as 0
        start = time.perf_counter()
        for _ in range(reps):
            torch.sqrt(x, out=out)
        times[flush] = min(times.get(flush, math.inf), time.perf_counter() - start)
    torch.set_flush_denormal(True)
    return times[False] / times[True]


def _job(args: tuple[str, list[tuple[tuple, int]], int]) -> float:
    """One harness-like job: a cohort of runs of one task, trained for ``steps`` steps."""
    name, runs, steps = args
    task = truncated(get_task(name), steps)
    variants = [Variant(name, params, seed, task.version) for params, seed in runs]
    start = time.perf_counter()
    train_cohort(task, variants)
    return time.perf_counter() - start


def worker_scaling(task: Task, jobs: int, runs_per_job: int, steps: int) -> dict[str, Any]:
    """The same ``jobs`` independent cohort jobs (``runs_per_job`` runs each, as the
    harness makes them) with 1 and with 2 worker processes."""
    variants = bench_variants(task, jobs * runs_per_job)
    args = [(task.name, [(v.params, v.seed) for v in variants[i::jobs]], steps) for i in range(jobs)]
    out: dict[str, Any] = {"task": task.name, "jobs": jobs, "runs_per_job": runs_per_job, "steps": steps}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers, initializer=init_worker) as pool:
            list(pool.map(_job, [(task.name, a[1], 2) for a in args[:workers]]))  # start-up outside the timing
            start = time.perf_counter()
            list(pool.map(_job, args))
            out[f"seconds_{workers}_worker"] = time.perf_counter() - start
    out["scaling"] = out["seconds_1_worker"] / out["seconds_2_worker"]
    return out


def lmn_case(n: int = 961) -> tuple[torch.nn.Module, torch.Tensor]:
    """The paper's sub-network after the first hidden layer, Linear(100, 100) -> SiLU ->
    Linear(100, 31), seeded, and ``n`` seeded inputs of width 100 (N = 961: every pair of mod 31)."""
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        f = torch.nn.Sequential(torch.nn.Linear(100, 100), torch.nn.SiLU(), torch.nn.Linear(100, 31))
    return f, torch.randn(n, 100, generator=gen)


def lmn_naive_flops(n: int) -> float:
    """FLOPs a plain forward of every interpolated point through f would need: 2 x MACs of
    N(N-1)/2 pairs x 21 points through ``lmn_case``'s network."""
    return n * (n - 1) / 2 * 21 * 2 * (100 * 100 + 100 * 31)


def lmn_seconds(n: int = 961) -> dict[str, Any]:
    try:
        from complexity_bench.measures.lmn import linear_mapping_number
    except ImportError as exc:
        return {"seconds": None, "note": f"complexity_bench.measures.lmn not importable: {exc}"}
    f, x = lmn_case(n)
    start = time.perf_counter()
    value = float(linear_mapping_number(f, x))
    sec = time.perf_counter() - start
    return {"seconds": sec, "n": n, "lmn": value, "gflops_naive": lmn_naive_flops(n) / sec / 1e9}


# --------------------------------------------------------------------------- driver
QUICK = dict(steps=60, runs=4, cohort_sizes=[4], repeats=1, mm_seconds=0.3, jobs=2, runs_per_job=2, job_steps=60,
             gf_steps=20, gf_runs=2, den_warm=100, den_steps=10, vmap_runs=2, vmap_steps=20,
             cbwr_tasks=COST_TASKS[:1], cbwr_runs=2, cbwr_steps=100)
FULL = dict(steps=150, runs=8, cohort_sizes=[4, 8, 16], repeats=2, mm_seconds=2.0, jobs=4, runs_per_job=4,
            job_steps=300, gf_steps=200, gf_runs=8, den_warm=4000, den_steps=100, vmap_runs=8, vmap_steps=100,
            cbwr_tasks=COST_TASKS, cbwr_runs=8, cbwr_steps=600)


def run_bench(quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every benchmark below in turn, in this process (one torch thread, denormals flushed,
    freed memory kept, as the harness's workers run); one dict of their results."""
    say = progress or (lambda s: None)
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    keep_freed_memory()
    TASKS.discover()
    cores = os.cpu_count() or 1
    cfg = QUICK if quick else FULL
    res: dict[str, Any] = {"machine": machine(), "quick": quick, "torch_threads_per_process": 1, "config": cfg}
    say("matmul rate")
    res["matmul_gflops_one_core"] = matmul_gflops(1, cfg["mm_seconds"])
    res["matmul_gflops"] = matmul_gflops(cores, cfg["mm_seconds"])
    res.update(bench_cohorts(cfg, quick, say))
    res.update(bench_vmap(cfg, say))
    if PAPER_TASK in TASKS.names():
        paper_task = get_task(PAPER_TASK)
        res.update(bench_training(paper_task, cfg, res["matmul_gflops_one_core"], say))
        res.update(bench_denormals(paper_task, cfg, say))
        res.update(bench_all_cores(paper_task, cfg, cores, res["matmul_gflops"], res["training"], say))
    else:
        res.update(training_gflops=None, training_efficiency=None, denormal_slowdown=None, worker_scaling=None,
                   note=f"task {PAPER_TASK!r} is not registered")
    res["measure_seconds"] = bench_measures(quick, say)
    say("LMN")
    res["lmn"] = lmn_seconds(961)
    res["lmn_seconds_n961"] = res["lmn"]["seconds"]
    say("MKL's CPU-independent path vs this CPU's own")
    res["mkl_cbwr"] = mkl_cbwr_cost(tuple(t for t in cfg["cbwr_tasks"] if t in TASKS.names()), cfg["cbwr_runs"],
                                    cfg["cbwr_steps"], cfg["repeats"])
    res["mkl_cbwr_slowdown"] = res["mkl_cbwr"][0]["slowdown"] if res["mkl_cbwr"] else None
    res["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return res


def bench_cohorts(cfg: dict[str, Any], quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """The cohort engine against the loop on each family's net, and on the smallest net at
    several cohort sizes (the gain grows with the cohort: 8 is what the harness forms
    from a task's 15 default-suite runs on 2 workers; 16 is one cohort per task)."""
    names = [n for n in FAMILY_TASKS if n in TASKS.names()]
    families = []
    for name in names if not quick else [n for n in names if n in ("teacher-student", PAPER_TASK)] or names[:1]:
        say(f"cohort vs loop: {name}")
        families.append(cohort_vs_loop(get_task(name), cfg["runs"], cfg["steps"], cfg["repeats"]))
    measured = [f for f in families if f["speedup"] is not None]
    smallest = min(measured, key=lambda f: f["parameters"]) if measured else None
    by_runs = {}
    if smallest is not None:
        for r in cfg["cohort_sizes"]:
            if r != cfg["runs"]:
                say(f"cohort vs loop: {smallest['task']}, {r} runs")
            f = smallest if r == cfg["runs"] else cohort_vs_loop(get_task(smallest["task"]), r, cfg["steps"], cfg["repeats"])
            by_runs[r] = f["speedup"]
    paper = next((f for f in measured if f["task"] == PAPER_TASK), None)
    return {"families": families, "cohort_speedup_task": smallest["task"] if smallest else None,
            "cohort_speedup_by_runs": by_runs, "cohort_runs": max(by_runs) if by_runs else None,
            "cohort_speedup": by_runs[max(by_runs)] if by_runs else None,
            "cohort_speedup_paper_net": paper["speedup"] if paper else None}


def bench_vmap(cfg: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
    """The generic vmap engine against the loop on the transformer."""
    if VMAP_TASK not in TASKS.names():
        return {"vmap": None, "vmap_speedup": None}
    say(f"vmap cohort vs loop: {VMAP_TASK}")
    vmap = cohort_vs_loop(get_task(VMAP_TASK), cfg["vmap_runs"], cfg["vmap_steps"], cfg["repeats"], "vmap")
    return {"vmap": vmap, "vmap_speedup": vmap["speedup"]}


def bench_training(task: Task, cfg: dict[str, Any], matmul_one_core: float, say: Callable[[str], None]
                   ) -> dict[str, Any]:
    """Training FLOP rate of the paper's net in one process, as a share of one core's matmul
    rate: the cohort (what the harness trains with) and the loop (the reference)."""
    say("training FLOP rate")
    gf = training_gflops(task, cfg["gf_steps"], cfg["gf_runs"], cfg["repeats"])
    return {"training": gf, "training_gflops": gf["cohort"]["gflops"], "training_gflops_loop": gf["loop"]["gflops"],
            "training_efficiency": gf["cohort"]["gflops"] / matmul_one_core,
            "training_efficiency_loop": gf["loop"]["gflops"] / matmul_one_core}


def bench_denormals(task: Task, cfg: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
    """How much slower late-training steps would be without flushing denormals."""
    say("denormals")
    den = denormal_slowdown(task, cfg["den_warm"], cfg["den_steps"])
    return {"denormal": den, "denormal_slowdown": den["slowdown"],
            "denormal_kernel_slowdown": denormal_kernel_slowdown()}


def bench_all_cores(task: Task, cfg: dict[str, Any], cores: int, matmul_all_cores: float, gf: dict[str, Any],
                    say: Callable[[str], None]) -> dict[str, Any]:
    """Worker scaling 1 -> 2, and training with every core busy as a share of the
    all-core matmul rate (docs/performance.md: ">= 60% of the large-matmul rate with all
    cores busy"): training steps in every core's process at once, measured like the
    matmul rate, and whole jobs (the worker-scaling run: set-up and evaluations
    included, not counted as flops)."""
    say("worker scaling")
    # the all-core matmul rate again, next to the all-core training it is compared with
    # (on a shared machine the load changes within minutes); the best of both counts
    matmul = max(matmul_all_cores, matmul_gflops(cores, cfg["mm_seconds"]))
    ws = worker_scaling(task, cfg["jobs"], cfg["runs_per_job"], cfg["job_steps"])
    steps_all = training_gflops_all_cores(task, cfg["gf_runs"], cores, cfg["mm_seconds"])
    flops = 6 * gf["samples"] * gf["parameters"] * cfg["job_steps"] * cfg["jobs"] * cfg["runs_per_job"]
    jobs = flops / ws["seconds_2_worker"] / 1e9
    return {"matmul_gflops": matmul, "worker_scaling_detail": ws, "worker_scaling": ws["scaling"],
            "training_gflops_all_cores": steps_all, "training_efficiency_all_cores": steps_all / matmul,
            "training_gflops_all_cores_jobs": jobs, "training_efficiency_all_cores_jobs": jobs / matmul}


def bench_measures(quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """Seconds per checkpoint of every registered measure (complexity_bench/measure_costs.py)."""
    from complexity_bench.measure_costs import measure_seconds

    return measure_seconds(
        train_steps=50 if quick else 500, repeats=1 if quick else 3, tasks=[PAPER_TASK] if quick else None,
        tiers=("cheap", "moderate") if quick else None, progress=say)


def _fmt(v: Any, spec: str = ".3g") -> str:
    return "-" if v is None else format(v, spec) if isinstance(v, (int, float)) else str(v)


def table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} logical cores, torch {m['torch']}, 1 torch thread per process"
             + (" (quick)" if res["quick"] else ""),
             f"load average at start: {_fmt(m.get('load_average_1min'))} (other processes slow every absolute figure)", ""]
    lines.append(f"{'task':<18}{'params':>9}{'runs':>6}{'steps':>7}{'loop s':>9}{'cohort s':>10}{'speedup':>9}")
    for f in res["families"]:
        lines.append(f"{f['task']:<18}{f['parameters']:>9}{f['runs']:>6}{f['steps']:>7}"
                     f"{_fmt(f['loop_seconds']):>9}{_fmt(f['cohort_seconds']):>10}{_fmt(f['speedup']):>9}")
    lines += ["",
              f"cohort speedup, smallest net ({res['cohort_speedup_task']}), {res.get('cohort_runs')} runs:"
              f" {_fmt(res['cohort_speedup'])}x (by cohort size: "
              + ", ".join(f"{k}: {_fmt(v)}x" for k, v in (res.get("cohort_speedup_by_runs") or {}).items()) + ")",
              f"cohort speedup, paper net: {_fmt(res['cohort_speedup_paper_net'])}x",
              f"vmap cohort speedup ({VMAP_TASK}, {_fmt((res.get('vmap') or {}).get('runs'))} runs):"
              f" {_fmt(res.get('vmap_speedup'))}x",
              f"matmul GFLOP/s: {_fmt(res['matmul_gflops'])} all cores, {_fmt(res['matmul_gflops_one_core'])} one core",
              f"training GFLOP/s (paper net, one process): cohort {_fmt(res['training_gflops'])}"
              f" = {_fmt(res.get('training_efficiency'), '.0%')}, loop {_fmt(res.get('training_gflops_loop'))}"
              f" = {_fmt(res.get('training_efficiency_loop'), '.0%')} of one core's matmul rate",
              f"training GFLOP/s, every core stepping cohorts: {_fmt(res.get('training_gflops_all_cores'))}"
              f" = {_fmt(res.get('training_efficiency_all_cores'), '.0%')} of the all-core matmul rate"
              f" (whole jobs: {_fmt(res.get('training_efficiency_all_cores_jobs'), '.0%')})",
              f"worker scaling 1 -> 2: {_fmt(res['worker_scaling'])}x",
              f"denormal slowdown late in a run: {_fmt(res['denormal_slowdown'])}x"
              f" (synthetic all-denormal kernel: {_fmt(res.get('denormal_kernel_slowdown'))}x)",
              f"LMN N=961 (paper tail): {_fmt(res['lmn_seconds_n961'])} s"
              + (f" ({res['lmn'].get('note')})" if res["lmn"].get("note") else ""),
              "MKL_CBWR=COMPATIBLE (the same results on any x86-64 CPU) vs this CPU's own MKL path: "
              + (", ".join(f"{r['task']} {_fmt(r['slowdown'])}x the time" for r in res.get("mkl_cbwr") or []) or "-")]
    for task, row in (res.get("measure_seconds") or {}).items():
        lines += ["", f"seconds per checkpoint, {task} ({row['parameters']} parameters, step {row['step']}):"]
        lines += [f"  {name:<28}{_fmt(s) if isinstance(s, float) else s}" for name, s in row["seconds"].items()]
    return "\n".join(lines)


@flushing_denormals  # the bench toggles flushing; the caller gets its setting back
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m complexity_bench bench``; returns the exit code."""
    ap = argparse.ArgumentParser(prog="complexity_bench bench", description="measure this machine's speed for the suite")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--quick", action="store_true", help="a < 1 minute version (fewer runs and steps)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    res = run_bench(quick=args.quick, progress=lambda s: print(f"[bench] {s}", file=sys.stderr))
    print(json.dumps(res, indent=2) if args.json else table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
