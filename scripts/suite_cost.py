"""A suite's cost: where a finished suite's time went, or a prediction before it runs.

    python scripts/suite_cost.py results/full
    python scripts/suite_cost.py --measure full --out docs/measurements/suite_cost_inputs_xeon.json
    python scripts/suite_cost.py --predict full --inputs docs/measurements/suite_cost_inputs_xeon.json \
        [--measures all|default-tier|NAMES] [--tasks NAMES] [--workers 2] [--trained] \
        [--history results/full/runs.csv]
    python scripts/suite_cost.py --check-training full:teacher-student --inputs docs/measurements/suite_cost_inputs_xeon.json

**Where the time went** (a results folder): training seconds are ``runs.csv``'s
``train_seconds`` (worker wall time; a cohort's wall time is shared equally among its
runs). Measure seconds are ``traces.parquet``'s ``seconds``, counted once per (run,
checkpoint, measure): sub-measures such as ``lmn``'s share one computation and repeat its
time. Both are worker time, so with W workers they sum to about W x the wall time spent
in jobs. Prints Markdown.

**--measure**: times the cost model's inputs on this machine (CPU time per training step
of each task's cohort, CPU seconds per checkpoint of every measure;
``complexity_bench/suite_cost_inputs.py``) and writes them, with the command and the CPU,
to ``--out``; with ``--update`` it merges into that file: re-timed measures replace
theirs, and a re-timed task's training takes the median time per cohort size of all its
timings (``median_step_times``). About 7 CPU-minutes for the full suite, most of it the
expensive measures on the transformer.

**--predict**: the suite's predicted worker-seconds per task (training and measures) and
its wall time on W workers, from those inputs and the expected steps per run
(``complexity_bench/suite_prediction.py`` has the model and what it leaves out).
``--measures``: as ``run``'s (``all``: what ``run --measures all`` includes in the suite),
or ``default-tier`` (the cheap and moderate tiers).

**--check-training SUITE:TASK**: trains that task's largest job as ``run`` would and prints
its CPU seconds beside the model's prediction for it (a check of the training model:
expected steps, a cohort that shrinks as its runs stop, evaluations on the real schedule).
"""

import argparse
import json
import shlex
import sys
from pathlib import Path


def where_the_time_went(results: Path) -> None:
    import pandas as pd

    from complexity_bench.pipeline.outputs import measure_time_rows

    runs = pd.read_csv(results / "runs.csv")
    traces = pd.read_parquet(results / "traces.parquet", columns=["run_id", "task", "step", "measure", "seconds"])
    once = measure_time_rows(traces)
    manifest = json.loads((results / "manifest.json").read_text())

    train = runs.groupby("task")["train_seconds"].sum()
    meas = once.groupby("task")["seconds"].sum()
    top = once.groupby(["task", "parent"])["seconds"].sum()
    print("| task | runs | training, worker-s | measures, worker-s | costliest measures (worker-s) |")
    print("|---|---|---|---|---|")
    for task in sorted(runs["task"].unique()):
        t3 = top.loc[task].sort_values(ascending=False).head(3)
        costly = ", ".join(f"`{m}` {s:,.0f}" for m, s in t3.items())
        print(f"| `{task}` | {int((runs['task'] == task).sum())} | {train.get(task, 0):,.0f} | {meas.get(task, 0):,.0f} | {costly} |")
    print(f"| **all** | {len(runs)} | {train.sum():,.0f} | {meas.sum():,.0f} | |")
    print()
    print(f"Wall time of the invocation(s) recorded in manifest.json: {manifest.get('wall_seconds_this_invocation', float('nan')):,.0f} s "
          f"(last invocation), workers {manifest.get('workers')}, device {manifest.get('device')}, commit {manifest.get('git_commit', '')[:10]}.")


def measure(args: argparse.Namespace) -> None:
    from complexity_bench.numerics import pin_mkl

    pin_mkl()  # before torch computes: the path run's workers use (numerics.py)
    from complexity_bench.suite_cost_inputs import measure_all

    names = None if args.measures in (None, "all") else [n.strip() for n in args.measures.split(",") if n.strip()]
    names = [] if args.measures == "none" else names
    tasks = None if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
    out = measure_all(args.measure, args.workers, tasks=tasks, measures=names,
                      progress=lambda s: print(s, file=sys.stderr, flush=True))
    out["commands"] = ["python " + " ".join(shlex.quote(a) for a in sys.argv)]
    if args.update and args.out.exists():  # re-timed tasks or measures replace theirs; the rest is kept
        old = json.loads(args.out.read_text())
        for key in ("training", "measures"):
            for task, entry in out[key].items():
                if key == "training" and task in old[key]:
                    old[key][task] = median_step_times(old[key][task], entry)
                elif task not in old[key]:
                    old[key][task] = entry
                else:
                    for part in ("cpu_seconds", "raised"):
                        kept = {m: v for m, v in old[key][task].get(part, {}).items() if m not in entry["cpu_seconds"]}
                        old[key][task][part] = {**kept, **entry.get(part, {})}
        old["commands"] = old.get("commands", []) + out["commands"]
        old.setdefault("updates", []).append({k: out[k] for k in ("machine", "cpu_seconds_of_this_measurement",
                                                                   "load_average_1min_at_end")})
        out = old
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def median_step_times(old: dict, new: dict) -> dict:
    """A task's training inputs timed again: per cohort size the median CPU seconds per step
    of all its timings (other load on a shared machine moves CPU time too: caches, a shared
    core), with every timing kept under ``samples``."""
    import statistics

    merged = dict(new)
    samples = {}
    for entry in (old, new):
        for k, s in entry["cpu_seconds_per_step"].items():
            samples.setdefault(k, [])
            samples[k] += entry.get("samples", {}).get(k, [s])
    merged["samples"] = samples
    merged["cpu_seconds_per_step"] = {k: statistics.median(v) for k, v in samples.items()}
    return merged


def predict(args: argparse.Namespace) -> None:
    from complexity_bench.suite_prediction import predict_suite, prediction_table

    pred = predict_suite(args.predict, json.loads(args.inputs.read_text()), measures=args.measures,
                         workers=args.workers, history=args.history, tasks=args.tasks or "all", trained=args.trained)
    print(prediction_table(pred))


def check_training(args: argparse.Namespace) -> None:
    """Train the task's largest job of the suite as ``run`` would (its engine, full budget, early
    stop) and print its CPU seconds beside the model's prediction for that job."""
    from complexity_bench.numerics import pin_mkl

    pin_mkl()
    import time

    import torch

    from complexity_bench.contracts.task import get_task
    from complexity_bench.engine.select import pick_engine
    from complexity_bench.suite_cost_inputs import largest_job
    from complexity_bench.suite_prediction import cohort_seconds, expected_run, linear_in_runs, read_history

    torch.set_num_threads(1)
    suite, name = args.check_training.split(":")
    task = get_task(name)
    job = list(largest_job(task, suite, args.workers))
    inputs = json.loads(args.inputs.read_text())["training"][name]
    history = read_history(args.history)
    cost = linear_in_runs({int(k): float(v) for k, v in inputs["cpu_seconds_per_step"].items()})
    predicted = cohort_seconds([expected_run(task, v, history).steps for v in job], cost)
    engine, train = pick_engine(task, job)
    start = time.process_time()
    results = train(task, job, "cpu")
    cpu = time.process_time() - start
    steps = sorted(r.metrics["step"][-1] for r in results)
    print(json.dumps({"task": name, "suite": suite, "runs": len(job), "engine": engine, "steps_trained": steps,
                      "predicted_cpu_seconds": predicted, "measured_cpu_seconds": cpu,
                      "predicted_with_the_steps_trained": cohort_seconds(steps, cost)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", type=Path, default=Path("results/full"), help="a results folder")
    ap.add_argument("--measure", metavar="SUITE", help="time the cost model's inputs for SUITE on this machine")
    ap.add_argument("--predict", metavar="SUITE", help="predict SUITE's cost from --inputs")
    ap.add_argument("--check-training", metavar="SUITE:TASK",
                    help="train TASK's largest job of SUITE and print its CPU seconds beside the prediction")
    ap.add_argument("--inputs", type=Path, help="the JSON --measure wrote")
    ap.add_argument("--out", type=Path, help="where --measure writes its JSON")
    ap.add_argument("--measures", default=None,
                    help="all (default), default-tier, or comma-separated names; --measure: none times training only")
    ap.add_argument("--tasks", default=None, help="only these tasks (comma-separated)")
    ap.add_argument("--update", action="store_true",
                    help="--measure: merge into an existing --out (the named tasks and measures replace theirs)")
    ap.add_argument("--trained", action="store_true",
                    help="--predict: the runs are stored already (a later run adding measures): no training")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--history", type=Path, default=Path("results/full/runs.csv"),
                    help="runs.csv whose events give the expected steps per configuration")
    args = ap.parse_args()
    if args.measure:
        if args.out is None:
            ap.error("--measure needs --out")
        measure(args)
    elif args.check_training:
        if args.inputs is None:
            ap.error("--check-training needs --inputs")
        check_training(args)
    elif args.predict:
        if args.inputs is None:
            ap.error("--predict needs --inputs")
        predict(args)
    else:
        where_the_time_went(args.results)


if __name__ == "__main__":
    main()
