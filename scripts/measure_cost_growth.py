"""Seconds per checkpoint of every measure on the default suite's models, and what the named measures add to
``--measures all`` (docs/measures.md, "Literature measures: cost").

    python scripts/measure_cost_growth.py results/traces.parquet circuit-efficiency output-margin ...

The checkpoint counts per task come from the stored default-suite run's traces; the seconds are measured
now, on this machine (complexity_bench.measure_costs). Prints Markdown and writes the raw figures as JSON
to stdout's last line.
"""

import json
import sys

import pandas as pd
import torch

from complexity_bench.bench import machine
from complexity_bench.contracts.measure import MEASURES
from complexity_bench.measure_costs import cost_growth, measure_seconds

torch.set_num_threads(1)
traces_path, added = sys.argv[1], sys.argv[2:]
traces = pd.read_parquet(traces_path, columns=["run_id", "task", "step"])
checkpoints = traces.drop_duplicates(["run_id", "step"]).groupby("task").size().to_dict()
at_start = machine()
seconds = measure_seconds(progress=lambda s: print(f"[cost] {s}", file=sys.stderr))
growth = cost_growth(seconds, checkpoints, added)
tasks = list(seconds)
print(f"machine: {at_start['cpu']}, {at_start['cores']} cores, torch {at_start['torch']}, one thread; "
      f"load average {at_start['load_average_1min']:.1f} at the start, {machine()['load_average_1min']:.1f} at the end\n")
print("| measure | tier | " + " | ".join(f"{t} ({seconds[t]['parameters']:,} params)" for t in tasks) + " |")
print("|---|---|" + "---|" * len(tasks))
for name in added:
    cells = []
    for t in tasks:
        s = seconds[t]["seconds"].get(name)
        cells.append("n/a" if s is None else f"{s * 1000:.1f} ms" if isinstance(s, float) else f"error: {s}")
    print(f"| `{name}` | {MEASURES.get(name).info.cost} | " + " | ".join(cells) + " |")
print(f"\ncheckpoints per task (stored run): {checkpoints}")
print(f"--measures all, default suite: {growth['seconds_before']:.0f} s -> {growth['seconds_after']:.0f} s "
      f"(x{growth['growth']:.3f})")
print(json.dumps({"machine": at_start, "seconds": seconds, "checkpoints": checkpoints, "growth": growth}))
