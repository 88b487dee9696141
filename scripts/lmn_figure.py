"""LMN and L2 over training beside train/test accuracy: the paper's mod-31 addition run.

    python scripts/lmn_figure.py [--out results/figures] [--full-every 1]

Trains ``modadd-mlp`` (default variant, seed 0) with the reference loop, then
at every stored checkpoint computes the registered ``lmn`` (task probe set,
N = 128), LMN on all 961 input pairs (the paper's setting, every
``--full-every``-th checkpoint) and ``l2``. Writes lmn_l2_modadd.png and
lmn_l2_modadd.csv, and prints Spearman ρ and straight-line R² of test loss on
each measure over the checkpoints in [T_mem, T_gen] (the paper's claim: LMN
is linear in test loss there, L2 is not).
"""

import argparse
import csv
import os
import time

import torch
from scipy import stats

from complexity_bench.contracts.measure import MEASURES, MeasureContext
from complexity_bench.measures.lmn import model_lmn
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="results/figures")
ap.add_argument("--full-every", type=int, default=1)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
torch.set_num_threads(1)
os.makedirs(args.out, exist_ok=True)

task = get_task("modadd-mlp")
variant = task.variant({}, seed=args.seed)
params = variant.param_dict
data = task.make_data(params, args.seed)
t0 = time.perf_counter()
result = train_run(task, variant)
print(f"trained {max(result.checkpoints)} steps in {time.perf_counter() - t0:.0f} s; "
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
    row["lmn_961"] = model_lmn(model, data.x) if k % args.full_every == 0 else float("nan")
    rows.append(row)
    print(f"step {step:6d} test_acc {row['test_acc']:.3f} lmn {row['lmn']:.3f} lmn_961 {row['lmn_961']:.3f} "
          f"l2 {row['l2']:.2f}", flush=True)

with open(os.path.join(args.out, "lmn_l2_modadd.csv"), "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

t_mem, t_gen = result.events.t_mem, result.events.t_gen
if t_mem is not None and t_gen is not None:
    phase = [r for r in rows if t_mem <= r["step"] <= t_gen]
    for name in ("lmn", "lmn_961", "l2"):
        pts = [(r[name], r["test_loss"]) for r in phase if r[name] == r[name]]
        if len(pts) >= 3:
            m, loss = zip(*pts)
            rho = stats.spearmanr(m, loss).statistic
            r2 = stats.linregress(m, loss).rvalue ** 2
            print(f"[T_mem, T_gen] = [{t_mem}, {t_gen}], {len(pts)} checkpoints: {name}: "
                  f"Spearman rho(measure, test loss) = {rho:.3f}, R^2 of a line = {r2:.3f}")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

steps = [r["step"] for r in rows]
fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
axes[0].plot(metrics["step"], metrics["train_acc"], label="train")
axes[0].plot(metrics["step"], metrics["test_acc"], label="test")
axes[0].set_ylabel("accuracy")
axes[0].legend(loc="lower right")
axes[1].plot(steps, [r["lmn"] for r in rows], "o-", ms=3, label="LMN, probe set (N=128)")
full = [(r["step"], r["lmn_961"]) for r in rows if r["lmn_961"] == r["lmn_961"]]
ax_full = axes[1].twinx()
ax_full.plot(*zip(*full), "s-", ms=3, color="C3", label="LMN, all pairs (N=961)")
axes[1].set_ylabel("LMN (N=128)")
ax_full.set_ylabel("LMN (N=961)", color="C3")
axes[1].legend(loc="upper right")
ax_full.legend(loc="center right")
axes[2].plot(steps, [r["l2"] for r in rows], "o-", ms=3, color="C2")
axes[2].set_ylabel("parameter L2 norm")
axes[2].set_xlabel("step")
for ax in axes:
    for t, lab in ((t_mem, "T_mem"), (t_gen, "T_gen")):
        if t is not None:
            ax.axvline(t, color="grey", ls="--", lw=0.8)
axes[0].set_title(f"modadd-mlp (paper net, wd {params['weight_decay']}, seed {args.seed}): "
                  f"T_mem={t_mem}, T_gen={t_gen}", fontsize=9)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "lmn_l2_modadd.png"), dpi=120)
print("wrote", os.path.join(args.out, "lmn_l2_modadd.png"))
