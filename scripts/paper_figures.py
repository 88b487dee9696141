"""The LMN paper's Figure 2 for each of its tasks: accuracy, then LMN and L2 beneath.

    python scripts/paper_figures.py [--tasks modadd-mlp,s4-mlp,xor-mlp] [--out docs/figures]
                                    [--csv-dir docs/measurements] [--full-every 2] [--seed 0]

Trains each task's paper configuration (its default variant, seed 0) with the
reference loop for the paper's 20,000 steps **without early stop**, so the curves
show what the paper shows after generalisation too. This is not the scored suite:
there every variant of a task shares one budget and stop rule (docs/protocol.md,
"Budgets"), and S4's budget is 60,000 steps. At every stored checkpoint it computes
the registered ``lmn`` (the task's probe set, N = 128), LMN on every input pair (the
paper's setting; every ``--full-every``-th checkpoint) and ``l2``. Per task it writes
``<out>/paper_<task>.png`` and ``<csv-dir>/paper_<task>.csv``, and prints Spearman ρ
and the R² of a straight line of test loss on each measure over the checkpoints in
[T_mem, T_gen] (the paper's claim: LMN is linear in test loss there, L2 is not).
"""

import argparse
import csv
import os
import time

import torch
from scipy import stats

from complexity_bench.contracts.measure import MEASURES, MeasureContext
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run
from complexity_bench.measures.lmn import model_lmn

PAPER_STEPS = 20_000  # Liu, Zhong & Tegmark 2023 train every task for 20,000 steps

ap = argparse.ArgumentParser()
ap.add_argument("--tasks", default="modadd-mlp,s4-mlp,xor-mlp")
ap.add_argument("--out", default="docs/figures")
ap.add_argument("--csv-dir", default="docs/measurements")
ap.add_argument("--full-every", type=int, default=2)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
torch.set_num_threads(1)
os.makedirs(args.out, exist_ok=True)
os.makedirs(args.csv_dir, exist_ok=True)


def measure_run(task_name: str) -> tuple[list[dict], dict, dict, object]:
    task = get_task(task_name)
    variant = task.variant({"steps": PAPER_STEPS, "stop_factor": None}, seed=args.seed)
    params = variant.param_dict
    data = task.make_data(params, args.seed)
    t0 = time.perf_counter()
    result = train_run(task, variant)
    print(f"{task_name}: trained {max(result.checkpoints)} steps in {time.perf_counter() - t0:.0f} s; "
          f"T_mem={result.events.t_mem} T_gen={result.events.t_gen}", flush=True)
    metrics = result.metrics
    at = {s: i for i, s in enumerate(metrics["step"])}
    rows = []
    for k, step in enumerate(sorted(result.checkpoints)):
        model = task.make_model(params, args.seed)
        model.load_state_dict(result.checkpoints[step])
        ctx = MeasureContext.for_run(task, params, args.seed, data, step, result.checkpoints[0])
        row = {"step": step, **{c: metrics[c][at[step]] for c in ("train_acc", "test_acc", "train_loss", "test_loss")}}
        row["lmn"] = MEASURES.get("lmn").compute(model, ctx.for_measure("lmn"))
        row["l2"] = MEASURES.get("l2").compute(model, ctx)
        row["lmn_all_pairs"] = model_lmn(model, data.x) if k % args.full_every == 0 else float("nan")
        rows.append(row)
    return rows, metrics, params, result.events


def phase_fits(rows: list[dict], t_mem, t_gen) -> None:
    phase = [r for r in rows if t_mem <= r["step"] <= t_gen]
    for name in ("lmn", "lmn_all_pairs", "l2"):
        pts = [(r[name], r["test_loss"]) for r in phase if r[name] == r[name]]
        if len(pts) >= 3:
            m, loss = zip(*pts)
            print(f"  [T_mem, T_gen] = [{t_mem}, {t_gen}], {len(pts)} checkpoints: {name}: Spearman rho(measure, "
                  f"test loss) = {stats.spearmanr(m, loss).statistic:.3f}, "
                  f"R^2 of a line = {stats.linregress(m, loss).rvalue ** 2:.3f}")


def plot(task_name: str, rows: list[dict], metrics: dict, params: dict, events) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    axes[0].plot(metrics["step"], metrics["train_acc"], label="train")
    axes[0].plot(metrics["step"], metrics["test_acc"], label="test")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="lower right")
    axes[1].plot(steps, [r["lmn"] for r in rows], "o-", ms=3, label="LMN, probe set (N=128)")
    full = [(r["step"], r["lmn_all_pairs"]) for r in rows if r["lmn_all_pairs"] == r["lmn_all_pairs"]]
    ax_full = axes[1].twinx()
    ax_full.plot(*zip(*full), "s-", ms=3, color="C3", label="LMN, all input pairs")
    axes[1].set_ylabel("LMN (N=128)")
    ax_full.set_ylabel("LMN (all pairs)", color="C3")
    axes[1].legend(loc="upper right")
    ax_full.legend(loc="center right")
    axes[2].plot(steps, [r["l2"] for r in rows], "o-", ms=3, color="C2")
    axes[2].set_ylabel("parameter L2 norm")
    axes[2].set_xlabel("step (symlog)")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=100)
        for t in (events.t_mem, events.t_gen):
            if t is not None:
                ax.axvline(t, color="grey", ls="--", lw=0.8)
    axes[0].set_title(f"{task_name} (paper's net, wd {params['weight_decay']}, seed {args.seed}, "
                      f"{PAPER_STEPS:,} steps, no early stop): T_mem={events.t_mem}, T_gen={events.t_gen}", fontsize=9)
    fig.tight_layout()
    path = os.path.join(args.out, f"paper_{task_name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


for name in args.tasks.split(","):
    rows, metrics, params, events = measure_run(name)
    with open(os.path.join(args.csv_dir, f"paper_{name}.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    if events.t_mem is not None and events.t_gen is not None:
        phase_fits(rows, events.t_mem, events.t_gen)
    print("  wrote", plot(name, rows, metrics, params, events), flush=True)
