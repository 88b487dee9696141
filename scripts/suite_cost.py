"""Where a suite's time went: training vs measures, per task, from a results folder.

    python scripts/suite_cost.py results/full

Training seconds are ``runs.csv``'s ``train_seconds`` (worker wall time; a cohort's
wall time is shared equally among its runs). Measure seconds are ``traces.parquet``'s
``seconds``, counted once per (run, checkpoint, measure): sub-measures such as
``lmn``'s share one computation and repeat its time. Both are worker time, so with
W workers they sum to about W x the wall time spent in jobs. Prints Markdown.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from complexity_bench.pipeline.outputs import measure_time_rows

results = Path(sys.argv[1] if len(sys.argv) > 1 else "results/full")
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
