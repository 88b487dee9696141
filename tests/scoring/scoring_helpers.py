"""Tiny hand-built inputs for the scoring tests."""

import numpy as np
import pandas as pd

META = {"needs": "weights", "cost": "cheap", "stochastic": False, "applies_to": "any"}


def measures_table(*rows):
    """rows: (name, direction[, causal]) -> measures DataFrame."""
    out = []
    for r in rows:
        name, d = r[0], r[1]
        causal = r[2] if len(r) > 2 else True
        out.append({"measure": name, "measure_version": "1", "direction": d, "causal": causal,
                    "baseline": False, **META})
    return pd.DataFrame(out)


def run_row(run_id, t_mem, t_gen, budget, task="t", seed=0, **params):
    censored = t_gen is None or np.isnan(t_gen)
    axes = "+".join(sorted(params)) if params else ""
    return {"run_id": run_id, "task": task, "seed": seed, "t_mem": t_mem,
            "t_gen": np.nan if censored else t_gen, "censored": censored, "delay": np.nan,
            "budget": budget, "threshold": 0.99, "axes": axes, **params}


def trace_rows(run_id, measure, steps, values, test_loss=None, task="t", errors=None):
    n = len(steps)
    tl = np.linspace(3, 0.1, n) if test_loss is None else np.asarray(test_loss, float)
    return pd.DataFrame({"run_id": run_id, "task": task, "step": steps, "measure": measure,
                         "value": np.asarray(values, float), "seconds": 0.0,
                         "error": errors if errors is not None else [""] * n,
                         "train_loss": 0.0, "test_loss": tl, "train_acc": 1.0, "test_acc": 0.0})
