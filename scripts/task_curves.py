"""Train a task's grid with the reference loop, record events and timings, plot accuracy curves.

Usage (from the repository root; one torch thread per process)::

    python scripts/task_curves.py --suite default                 # every task with a default grid
    python scripts/task_curves.py --tasks s4-mlp,xor-mlp --variants defaults   # each task's default params, seed 0
    python scripts/task_curves.py --suite default --plot-only     # redraw from the cached runs

Per task it writes ``<cache>/<task>.jsonl`` (one line per run: params, seed, events,
seconds, metrics; finished runs are reused, so an interrupted call resumes),
``results/figures/task_curves_<task>.png`` (train and test accuracy against step, one
panel per grid setting, seeds overlaid, T_gen marked), and prints a Markdown table of
T_mem, T_gen, T_gen/T_mem and wall time per run with the task's total.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch


def run_key(params: dict, seed: int) -> str:
    return json.dumps([sorted(params.items()), seed], default=str)


def load_cache(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill: that run is simply redone
            continue
        out[run_key(rec["params"], rec["seed"])] = rec
    return out


def train_variants(task, variants, cache_path: Path) -> list[dict]:
    from complexity_bench.engine.training import train_run

    cache = load_cache(cache_path)
    records = []
    for i, v in enumerate(variants):
        key = run_key(v.param_dict, v.seed)
        if key not in cache:
            cpu0 = time.process_time()
            r = train_run(task, v)
            cpu = time.process_time() - cpu0  # CPU seconds: robust to other jobs sharing the cores
            e = r.events
            m = {k: [round(float(x), 5) for x in vals] for k, vals in r.metrics.items()}
            cache[key] = {
                "task": task.name, "params": v.param_dict, "seed": v.seed, "overrides": overrides_of(task, v),
                "t_mem": e.t_mem, "t_gen": e.t_gen, "budget": e.budget, "censored": e.censored,
                "steps_run": r.metrics["step"][-1], "seconds": round(r.seconds, 2), "cpu_seconds": round(cpu, 2),
                "metrics": m,
            }
            with cache_path.open("a") as f:
                f.write(json.dumps(cache[key], default=str) + "\n")
            rec = cache[key]
            print(f"[{task.name} {i + 1}/{len(variants)}] {rec['overrides']} seed {v.seed}: T_mem {e.t_mem} "
                  f"T_gen {e.t_gen} ({rec['seconds']} s wall, {rec['cpu_seconds']} s CPU)", file=sys.stderr, flush=True)
        records.append(cache[key])
    # keep only the runs of the current grid, so the committed cache mirrors the task code
    tmp = cache_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in records))
    tmp.replace(cache_path)
    return records


def overrides_of(task, variant) -> dict:
    defaults = task.resolve({})
    return {k: v for k, v in variant.param_dict.items() if defaults.get(k) != v}


def label(rec: dict, varying: set[str]) -> str:
    """The run's values on the axes that vary among the plotted runs, then its other overrides."""
    parts = [f"{k}={rec['params'][k]}" for k in sorted(varying)]
    parts += [f"{k}={v}" for k, v in sorted(rec["overrides"].items()) if k not in varying]
    return ", ".join(parts) or "defaults"


def varying_axes(task, records: list[dict]) -> set[str]:
    return {a for a in task.axes if len({json.dumps(r["params"].get(a)) for r in records}) > 1}


def plot(task, records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict]] = {}
    varying = varying_axes(task, records)
    for rec in records:
        groups.setdefault(label(rec, varying), []).append(rec)
    n = len(groups)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.3 * rows), squeeze=False, sharey=True)
    for ax, (name, recs) in zip(axes.flat, groups.items()):
        for j, rec in enumerate(recs):
            m = rec["metrics"]
            steps = [max(s, 1) for s in m["step"]]
            color = f"C{j}"
            ax.plot(steps, m["train_acc"], color=color, ls="--", lw=1)
            ax.plot(steps, m["test_acc"], color=color, lw=1.4, label=f"seed {rec['seed']}")
            if rec["t_gen"] is not None:
                ax.axvline(max(rec["t_gen"], 1), color=color, lw=0.6, alpha=0.6)
        ax.set_xscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        ax.axhline(task.threshold, color="grey", lw=0.5, ls=":")
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes.flat[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel("accuracy (dashed: train, solid: test)")
    fig.suptitle(f"{task.name}: train/test accuracy; vertical lines at T_gen (q={task.threshold})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(task, records: list[dict]) -> str:
    lines = [f"\n### {task.name}\n", "| variant | seed | T_mem | T_gen | T_gen/T_mem | steps run | wall s | CPU s |",
             "|---|---|---|---|---|---|---|---|"]
    varying = varying_axes(task, records)
    for rec in records:
        ratio = "never memorised" if rec["t_mem"] is None else "censored" if rec["t_gen"] is None else \
            f"{max(rec['t_gen'], 1) / max(rec['t_mem'], 1):.1f}"
        t_gen = rec["t_gen"] if rec["t_gen"] is not None else f"> {rec['budget']}"
        lines.append(f"| {label(rec, varying)} | {rec['seed']} | {rec['t_mem']} | {t_gen} | {ratio} | "
                     f"{rec['steps_run']} | {rec['seconds']} | {rec.get('cpu_seconds', '')} |")
    wall = sum(r["seconds"] for r in records)
    cpu = sum(r.get("cpu_seconds", 0.0) for r in records)
    lines.append(f"\n{len(records)} runs: {wall:.0f} s wall, {cpu:.0f} s CPU in train_run (one thread).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="", help="comma-separated task names (default: tasks with a non-empty grid)")
    ap.add_argument("--suite", default="default", choices=("smoke", "default", "full"))
    ap.add_argument("--variants", default="grid", choices=("grid", "defaults"),
                    help="grid: the suite's variants; defaults: each task's default params with seed 0")
    ap.add_argument("--cache", default="results/task_curves", help="folder of per-task run caches")
    ap.add_argument("--figures", default="results/figures")
    ap.add_argument("--plot-only", action="store_true", help="do not train; plot what the cache holds")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    from complexity_bench.contracts.task import TASKS

    tasks = [TASKS.get(n) for n in args.tasks.split(",") if n] if args.tasks else \
        [t for t in TASKS if args.variants == "defaults" or t.grid(args.suite)]
    cache_dir = Path(args.cache) / (args.suite if args.variants == "grid" else "defaults")
    cache_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for task in tasks:
        variants = task.variants(args.suite) if args.variants == "grid" else [task.variant({}, 0)]
        if args.plot_only:
            cache = load_cache(cache_dir / f"{task.name}.jsonl")
            records = [cache[k] for k in (run_key(v.param_dict, v.seed) for v in variants) if k in cache]
        else:
            records = train_variants(task, variants, cache_dir / f"{task.name}.jsonl")
        if not records:
            continue
        suffix = "" if args.variants == "grid" and args.suite == "default" else f"_{args.variants if args.variants == 'defaults' else args.suite}"
        plot(task, records, Path(args.figures) / f"task_curves_{task.name}{suffix}.png")
        print(table(task, records), flush=True)
    print(f"\nwall time {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
