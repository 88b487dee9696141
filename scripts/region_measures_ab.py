"""Before/after of the two region measures at one checkpoint per task (docs/performance.md, "Measures").

    python scripts/region_measures_ab.py --before f57b6ff
    python scripts/region_measures_ab.py --before f57b6ff --tasks modadd-relu digits-mlp --steps 500 --repeats 3

At one checkpoint (``measure_costs.trained_checkpoint``: the task's first full-suite
variant after ``--steps`` steps of the plain loop), ``activation-pattern-changes`` and ``linear-regions`` (where it applies) are
computed as the harness computes them at a checkpoint:

- before: each measure on a context of its own, with the region-count functions of
  ``measures/linear_regions.py`` at git revision ``--before``;
- after: this working tree's functions, both measures on one context (they share the
  exact walk on piecewise-linear nets: ``MeasureContext.shared``).

Alternated in one process, process CPU time, best of ``--repeats``; every value must be
equal before and after (exit status 1 otherwise). MKL runs its CPU-independent path, as
under the command line (complexity_bench/numerics.py). Prints one JSON line per task.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

from complexity_bench.numerics import pin_mkl

pin_mkl()

import torch  # noqa: E402

import complexity_bench.measures.linear_regions as regions  # noqa: E402
from complexity_bench.bench import machine  # noqa: E402
from complexity_bench.contracts.measure import MEASURES, compute_measure  # noqa: E402
from complexity_bench.contracts.task import get_task  # noqa: E402
from complexity_bench.measure_costs import trained_checkpoint  # noqa: E402

NAMES = ("activation-pattern-changes", "linear-regions")
COUNTS = ("count_regions_batch", "count_sign_changes_batch")


def counts_at(revision: str) -> dict:
    """The region-count functions of measures/linear_regions.py at ``revision`` (not registered as measures)."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{revision}:measures/linear_regions.py"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("linear_regions_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source.replace("@register_measure\n", ""), f"{revision}:measures/linear_regions.py", "exec"),
         module.__dict__)
    return {name: getattr(module, name) for name in COUNTS}


def checkpoint(task_name: str, steps: int):
    task = get_task(task_name)
    model, ctx = trained_checkpoint(task, steps, suite="full")
    ctx.activations(model)  # once per checkpoint in the harness, for every measure: not timed
    return task, model, ctx


def evaluate(model, ctx, measures, before: dict | None) -> tuple[float, dict]:
    """CPU seconds and values of ``measures`` at the checkpoint, the harness's way before or after."""
    now = {name: getattr(regions, name) for name in COUNTS}
    if before is not None:
        for name, f in before.items():
            setattr(regions, name, f)
    try:
        shared = ctx.private_copy()
        start = time.process_time()
        values = {m.info.name: compute_measure(m, model, ctx.private_copy() if before is not None else shared)
                  for m in measures}
        return time.process_time() - start, values
    finally:
        for name, f in now.items():
            setattr(regions, name, f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision whose measures/linear_regions.py is 'before'")
    ap.add_argument("--tasks", nargs="+", default=["modadd-relu", "s4-relu", "xor-relu", "digits-mlp", "modadd-mlp",
                                                   "teacher-student"])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    before = counts_at(args.before)
    print(json.dumps({"machine": machine(), "load_average_1min": os.getloadavg()[0]}), flush=True)
    equal = True
    for name in args.tasks:
        task, model, ctx = checkpoint(name, args.steps)
        measures = [MEASURES.get(n) for n in NAMES if MEASURES.get(n).applicable(task, model)]
        evaluate(model, ctx, measures, before)  # untimed warm-up of both sides
        evaluate(model, ctx, measures, None)
        best = {"before": float("inf"), "after": float("inf")}
        for _ in range(args.repeats):
            for side, fns in (("before", before), ("after", None)):
                seconds, values = evaluate(model, ctx, measures, fns)
                best[side] = min(best[side], seconds)
                if side == "before":
                    reference = values
                elif values != reference:
                    equal = False
                    print(f"{name}: values differ: before {reference}, after {values}", file=sys.stderr)
        print(json.dumps({"task": name, "step": ctx.step, "measures": [m.info.name for m in measures],
                          "before_cpu_s": round(best["before"], 4), "after_cpu_s": round(best["after"], 4),
                          "ratio": round(best["before"] / best["after"], 3), "values_equal": values == reference,
                          "load_average_1min": os.getloadavg()[0]}), flush=True)
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
