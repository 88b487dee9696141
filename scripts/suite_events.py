"""Events per configuration of a results folder, as the Markdown table in docs/tasks.md.

    python scripts/suite_events.py results/full

One row per (task, configuration): the median T_mem, T_gen of each seed in seed order
("—" when censored at the task's budget) and how many of the seeds generalised.
Configurations are told apart by the axes that vary within the task.
"""

import sys

import numpy as np
import pandas as pd


def censored(run) -> bool:
    return str(run.censored).lower() in ("true", "1") or pd.isna(run.t_gen)


runs = pd.read_csv((sys.argv[1] if len(sys.argv) > 1 else "results/full") + "/runs.csv")
print("| task | configuration | T_mem (median) | T_gen per seed (— = censored) | grokked |")
print("|---|---|---|---|---|")
for task, g in runs.groupby("task"):
    axes = {a for s in g["axes"].dropna() for a in s.split("+")} | ({"n_train"} if "n_train" in g else set())
    axes = [a for a in sorted(axes) if a in g and g[a].nunique() > 1]
    for key, c in g.groupby(axes if axes else ["task"], dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{a} {k:g}" if isinstance(k, (int, float)) else f"{a} {k}" for a, k in zip(axes, key)) \
            if axes else "default"
        c = c.sort_values("seed")
        t_gen = ", ".join("—" if censored(r) else f"{int(r.t_gen):,}" for r in c.itertuples())
        grokked = sum(not censored(r) for r in c.itertuples())
        print(f"| `{task}` | {label} | {np.nanmedian(c.t_mem):,.0f} | {t_gen} | {grokked}/{len(c)} |")
