"""GPU check for the cohort engines (docs/performance.md): hundreds of runs at once.

Run on a machine with CUDA (writes JSON to $OUT or the current folder):

    python scripts/gpu_cohort.py --runs 256 --steps 2000                              # the paper's net
    python scripts/gpu_cohort.py --task modadd-transformer --runs 64 --steps 2000     # the transformer

1. Trains ``--runs`` runs of ``--task`` (seeds x weight decays x train fractions)
   as one cohort on the GPU and reports run-steps per second. The paper's net
   trains with the hand-written engine (cohort.py); a model it cannot stack (the
   transformer) with the generic vmap engine (vmap_cohort.py): ``report["engine"]``.
2. Trains two of them with the reference loop on the CPU and compares
   losses, accuracies and events (TF32 off, so the GPU computes in float32).
3. Trains a 16-run CPU cohort of the same runs for the per-run throughput ratio.
4. If time allows, trains the full 20,000-step budget (early stop after
   grokking) for all runs on the GPU and reports the spread of T_gen.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from itertools import product
from pathlib import Path

import torch

from complexity_bench.engine.cohort import StackedModel, cohort_compatible, gradient_mode, train_cohort
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run
from complexity_bench.engine.vmap_cohort import VmapStackedModel

# weight decays x train fractions per task (seeds make up the rest of --runs)
GRIDS = {
    "modadd-mlp": list(product([0.2, 0.5, 1.0, 2.0], [0.6, 0.7, 0.8, 0.9])),
    "modadd-transformer": list(product([0.3, 1.0, 3.0, 0.0], [0.3, 0.4, 0.5, 0.6])),
}


def variants(task, runs: int, steps: int | None):
    grid = GRIDS[task.name]
    out = []
    for k in range(runs):
        wd, frac = grid[k % len(grid)]
        over = {"weight_decay": wd, "train_frac": frac}
        if steps is not None:
            over["steps"] = steps
        out.append(task.variant(over, seed=k // len(grid)))
    return out


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="modadd-mlp", choices=sorted(GRIDS))
    ap.add_argument("--runs", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--device", default="cuda", help="cpu only to dry-run this script")
    ap.add_argument("--full-if-under", type=float, default=60.0, help="seconds for the short cohort below which the full budget is also trained")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    task = get_task(args.task)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    report: dict = {"task": task.name, "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
                    "torch": torch.__version__, "runs": args.runs, "steps": args.steps}

    vs = variants(task, args.runs, args.steps)
    # which engine ran: the commit, the engine and the cohort's gradient path ("explicit" = stacked_mlp)
    report["git_commit"] = _git_commit()
    stacked = StackedModel if cohort_compatible(task, vs[:2]) else VmapStackedModel
    report["engine"] = stacked.engine
    proto = stacked([task.make_model(vs[0].param_dict, vs[0].seed)], torch.device("cpu"))
    report["gradient_mode"] = gradient_mode(task, proto)
    train_cohort(task, vs[:8], device=args.device, stacked=stacked)  # warm-up (kernels, allocator)
    sync()
    t = time.perf_counter()
    gpu = train_cohort(task, vs, device=args.device, stacked=stacked)
    sync()
    report["gpu_cohort_seconds"] = time.perf_counter() - t
    report["gpu_run_steps_per_s"] = args.runs * args.steps / report["gpu_cohort_seconds"]

    torch.set_num_threads(1)
    checks = []
    t = time.perf_counter()
    for i in (0, min(5, args.runs - 1)):
        ref = train_run(task, vs[i])
        got = gpu[i]
        diff = max(abs(a - b) for a, b in zip(ref.metrics["train_loss"], got.metrics["train_loss"]))
        checks.append({"run": i, "max_abs_train_loss_diff": diff, "events_ref": [ref.events.t_mem, ref.events.t_gen],
                       "events_gpu": [got.events.t_mem, got.events.t_gen],
                       "test_acc_equal": ref.metrics["test_acc"] == got.metrics["test_acc"]})
    loop_seconds = (time.perf_counter() - t) / 2
    report["cpu_loop_seconds_per_run"] = loop_seconds
    report["equality_checks"] = checks
    t = time.perf_counter()
    train_cohort(task, vs[:16], stacked=stacked)
    report["cpu_cohort16_seconds_per_run"] = (time.perf_counter() - t) / 16
    report["gpu_speedup_per_run_vs_cpu_loop"] = loop_seconds / (report["gpu_cohort_seconds"] / args.runs)

    if report["gpu_cohort_seconds"] < args.full_if_under:
        full = variants(task, args.runs, None)
        t = time.perf_counter()
        res = train_cohort(task, full, device=args.device, stacked=stacked)
        sync()
        report["full_budget_seconds"] = time.perf_counter() - t
        tg = sorted(r.events.t_gen for r in res if r.events.t_gen is not None)
        report["full_budget_grokked"] = len(tg)
        report["full_budget_t_gen_quartiles"] = [tg[len(tg) // 4], tg[len(tg) // 2], tg[3 * len(tg) // 4]] if tg else []
        report["full_budget_censored"] = sum(r.events.t_gen is None for r in res)

    text = json.dumps(report, indent=2)
    print(text)
    Path(os.environ.get("OUT", "."), "gpu_cohort.json").write_text(text)


if __name__ == "__main__":
    main()
