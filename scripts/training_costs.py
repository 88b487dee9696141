"""Where training time goes under MKL's compatible path (docs/performance.md, "Under MKL's compatible path").

    python scripts/training_costs.py profile modadd-mlp --runs 8 --steps 300
    python scripts/training_costs.py profile modadd-transformer --runs 2 --steps 40
    python scripts/training_costs.py engines modadd-mlp --runs 8 --steps 10

Both take ``--runs`` variants of the task's bench grid (``bench.bench_variants``), one
torch thread, MKL on its CPU-independent path as under the command line, and print one
JSON line.

``profile``: trains them ``--steps`` steps with the engine ``run`` picks
(engine/select.py), evaluations and checkpoints at the average spacing of the task's full
schedule (``bench.truncated``). Two passes: process CPU time of the whole call and of its
evaluations and book-keeping (``cohort._book_keep``, by cProfile on process time); then
torch.profiler's self time per operator, grouped: matrix products, the fused optimizer,
everything else. torch.profiler times operators by the wall clock, so on a loaded
machine take its shares, not its seconds.

``engines``: training steps alone (no evaluation), the reference loop vs the engine
``run`` picks, ``--steps`` steps of every run per side, alternated 3 times in one
process, best of each, by process CPU time (on a loaded machine the wall clock mostly
measures the wait for a core); milliseconds per run-step.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time

from complexity_bench.numerics import pin_mkl

pin_mkl()

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from complexity_bench.bench import bench_variants, loop_stepper, machine, truncated  # noqa: E402
from complexity_bench.contracts.task import get_task  # noqa: E402
from complexity_bench.engine.cohort import cohort_compatible, lockstep_stepper  # noqa: E402
from complexity_bench.engine.select import cohort_engines  # noqa: E402
from complexity_bench.engine.vmap_cohort import vmap_stepper  # noqa: E402
from complexity_bench.numerics import mkl_cbwr  # noqa: E402

MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
OPTIMIZER = {"aten::_fused_adamw_"}


def profile_cohort(args) -> None:
    task = get_task(args.task)
    variants = bench_variants(task, args.runs)
    short = truncated(task, args.steps)
    engine = next(name for name, (ok, _) in cohort_engines().items() if ok(task, variants))
    train = cohort_engines()[engine][1]
    train(truncated(task, 2), variants[:2])  # one-off set-up, untimed

    prof = cProfile.Profile(time.process_time)
    start = time.process_time()
    prof.runcall(train, short, variants)
    total = time.process_time() - start
    stats = pstats.Stats(prof).stats
    book_keeping = sum(v[3] for (path, _, fn), v in stats.items() if fn == "_book_keep" and path.endswith("cohort.py"))

    with profile(activities=[ProfilerActivity.CPU]) as p:
        train(short, variants)
    ops = {e.key: e.self_cpu_time_total for e in p.key_averages()}
    all_ops = sum(ops.values())
    matmul = sum(t for k, t in ops.items() if k in MATMUL)
    optimizer = sum(t for k, t in ops.items() if k in OPTIMIZER)
    top_other = sorted(((t, k) for k, t in ops.items() if k not in MATMUL | OPTIMIZER), reverse=True)[:4]
    print(json.dumps({
        "task": task.name, "engine": engine, "runs": args.runs, "steps": args.steps, "mkl_cbwr": mkl_cbwr(),
        "cpu_ms_per_run_step": round(1e3 * total / (args.runs * args.steps), 3),
        "evaluation_and_book_keeping_share": round(book_keeping / total, 4),
        "op_share_matmul": round(matmul / all_ops, 4), "op_share_optimizer": round(optimizer / all_ops, 4),
        "op_share_other": round(1 - (matmul + optimizer) / all_ops, 4),
        "largest_other_ops": {k: round(t / all_ops, 4) for t, k in top_other},
        "cpu": machine()["cpu"], "load_average_1min": os.getloadavg()[0],
    }))


def engines(args) -> None:
    task = get_task(args.task)
    variants = bench_variants(task, args.runs)
    loops = [loop_stepper(task, v) for v in variants]
    hand_written = cohort_compatible(task, variants)
    cohort = (lockstep_stepper if hand_written else vmap_stepper)(task, variants)

    def loop() -> None:
        for step in loops:
            step()

    best = {"loop": float("inf"), "cohort": float("inf")}
    for side in (loop, cohort):  # untimed warm-up
        side()
    for _ in range(3):
        for name, side in (("loop", loop), ("cohort", cohort)):
            start = time.process_time()
            for _ in range(args.steps):
                side()
            best[name] = min(best[name], (time.process_time() - start) / (args.steps * args.runs))
    print(json.dumps({"task": task.name, "engine": "cohort" if hand_written else "vmap", "runs": args.runs,
                      "mkl_cbwr": mkl_cbwr(), "loop_cpu_ms_per_run_step": round(1e3 * best["loop"], 2),
                      "cohort_cpu_ms_per_run_step": round(1e3 * best["cohort"], 2),
                      "loop_over_cohort": round(best["loop"] / best["cohort"], 3), "cpu": machine()["cpu"],
                      "load_average_1min": os.getloadavg()[0]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["profile", "engines"])
    ap.add_argument("task")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300, help="steps per run (engines: per side and repeat; try 10)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    {"profile": profile_cohort, "engines": engines}[args.what](args)


if __name__ == "__main__":
    main()
