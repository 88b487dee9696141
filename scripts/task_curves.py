"""Train a task's grid with the reference loop, record events and timings, plot accuracy curves.

Usage (from the repository root; one torch thread per process)::

    python scripts/task_curves.py --suite default                 # every task with a default grid
    python scripts/task_curves.py --tasks s4-mlp,xor-mlp --variants defaults   # each task's default params, seed 0
    python scripts/task_curves.py --suite default --plot-only     # redraw from the records

Runs are kept in a run store (``--store``, the content-addressed store ``run`` uses), so
an interrupted call resumes. Per task it writes ``<records>/<task>.jsonl`` (one line per
run: params, seed, events, seconds, metrics),
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

from complexity_bench.contracts.task import SUITES
from complexity_bench.pipeline.store import RunStore


def run_key(params: dict, seed: int) -> str:
    return json.dumps([sorted(params.items()), seed], default=str)


def load_records(path: Path) -> dict[str, dict]:
    """The records a previous call wrote to ``path``, by (params, seed)."""
    if not path.exists():
        return {}
    return {run_key(rec["params"], rec["seed"]): rec for rec in map(json.loads, path.read_text().splitlines())}


def train_variants(task, variants, store: RunStore, records_path: Path) -> list[dict]:
    """Each variant's run: from ``store`` (content-addressed by run id, as ``run`` keeps
    its runs), or trained with the reference loop and stored. Writes one record per
    run to ``records_path`` and returns them; CPU seconds are known for the runs
    trained in this call."""
    from complexity_bench.engine.training import train_run

    records = []
    for i, v in enumerate(variants):
        result, cpu = store.load_run(v, task), None
        if result is None:
            cpu0 = time.process_time()
            result = train_run(task, v)
            cpu = round(time.process_time() - cpu0, 2)  # CPU seconds: robust to other jobs sharing the cores
            store.save_run(result)
        e = result.events
        records.append({
            "task": task.name, "params": v.param_dict, "seed": v.seed, "overrides": overrides_of(task, v),
            "t_mem": e.t_mem, "t_gen": e.t_gen, "budget": e.budget, "censored": e.censored,
            "steps_run": result.metrics["step"][-1], "seconds": round(result.seconds, 2), "cpu_seconds": cpu,
            "metrics": {k: [round(float(x), 5) for x in vals] for k, vals in result.metrics.items()},
        })
        if cpu is not None:
            print(f"[{task.name} {i + 1}/{len(variants)}] {records[-1]['overrides']} seed {v.seed}: T_mem {e.t_mem} "
                  f"T_gen {e.t_gen} ({records[-1]['seconds']} s wall, {cpu} s CPU)", file=sys.stderr, flush=True)
    tmp = records_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in records))
    tmp.replace(records_path)
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
                     f"{rec['steps_run']} | {rec['seconds']} | {_blank(rec.get('cpu_seconds'))} |")
    wall = sum(r["seconds"] for r in records)
    cpu = [r["cpu_seconds"] for r in records if r.get("cpu_seconds") is not None]
    lines.append(f"\n{len(records)} runs: {wall:.0f} s wall, {sum(cpu):.0f} s CPU in train_run (one thread) "
                 f"over the {len(cpu)} trained in the call that wrote them.")
    return "\n".join(lines)


def _blank(value) -> str:
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="", help="comma-separated task names (default: tasks with a non-empty grid)")
    ap.add_argument("--suite", default="default", choices=SUITES)
    ap.add_argument("--variants", default="grid", choices=("grid", "defaults"),
                    help="grid: the suite's variants; defaults: each task's default params with seed 0")
    ap.add_argument("--records", default="results/task_curves", help="folder of the per-task run records")
    ap.add_argument("--store", default="results/task_curves/store", help="run store: trained runs, reused")
    ap.add_argument("--figures", default="results/figures")
    ap.add_argument("--plot-only", action="store_true", help="do not train; plot the runs the records hold")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    from complexity_bench.contracts.task import TASKS

    tasks = [TASKS.get(n) for n in args.tasks.split(",") if n] if args.tasks else \
        [t for t in TASKS if args.variants == "defaults" or t.grid(args.suite)]
    records_dir = Path(args.records) / (args.suite if args.variants == "grid" else "defaults")
    records_dir.mkdir(parents=True, exist_ok=True)
    store = RunStore(args.store)
    start = time.perf_counter()
    for task in tasks:
        variants = task.variants(args.suite) if args.variants == "grid" else [task.variant({}, 0)]
        if args.plot_only:
            stored = load_records(records_dir / f"{task.name}.jsonl")
            records = [stored[k] for k in (run_key(v.param_dict, v.seed) for v in variants) if k in stored]
        else:
            records = train_variants(task, variants, store, records_dir / f"{task.name}.jsonl")
        if not records:
            continue
        suffix = "" if args.variants == "grid" and args.suite == "default" else f"_{args.variants if args.variants == 'defaults' else args.suite}"
        plot(task, records, Path(args.figures) / f"task_curves_{task.name}{suffix}.png")
        print(table(task, records), flush=True)
    print(f"\nwall time {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
