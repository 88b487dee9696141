"""Synthetic runs with known curves, for tests, doctests and figure checks (no training).

Each run memorises at T_mem and generalises at T_gen = T_mem * 10**D, with the
delay D set by the variant axes (weight_decay, init_scale) plus seed noise;
weight_decay = 0 never generalises (censored at the budget). Between T_mem and
T_gen the "remaining" fraction f(t) falls linearly from 1 to 0, and

- test_loss = 0.05 + 3 f(t) (3.05 before T_mem, 0.05 after T_gen);
- measure ``good`` (direction +1) = 1 + (1 + D) f(t) after T_mem, rising linearly
  from 1.5 + D/2 at step 0 to 2 + D at T_mem: its height at T_mem grows with the run's own delay (seed noise
  included, so it also orders the seeds of one configuration), then it falls with
  the test loss;
- ``random`` (seeded noise), ``train-loss``, ``step`` (value = step, direction
  -1), ``oracle-test-loss`` (non-causal) as the harness's baselines.

    >>> runs, traces, measures = make_synthetic(n_seeds=1)
    >>> sorted(runs.columns)[:3]
    ['axes', 'budget', 'censored']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MEASURES = pd.DataFrame([
    {"measure": "good", "measure_version": "1", "direction": 1, "causal": True, "baseline": False,
     "needs": "weights", "cost": "cheap", "stochastic": False, "applies_to": "any"},
    {"measure": "random", "measure_version": "1", "direction": 1, "causal": True, "baseline": True,
     "needs": "weights", "cost": "cheap", "stochastic": True, "applies_to": "any"},
    {"measure": "train-loss", "measure_version": "1", "direction": 1, "causal": True, "baseline": True,
     "needs": "data", "cost": "cheap", "stochastic": False, "applies_to": "any"},
    {"measure": "step", "measure_version": "1", "direction": -1, "causal": True, "baseline": True,
     "needs": "weights", "cost": "cheap", "stochastic": False, "applies_to": "any"},
    {"measure": "oracle-test-loss", "measure_version": "1", "direction": 1, "causal": False, "baseline": True,
     "needs": "data", "cost": "cheap", "stochastic": False, "applies_to": "any"},
])


def checkpoint_steps(budget: int, n: int = 60) -> np.ndarray:
    """Step 0, log-spaced early, then linear to the budget (about n steps)."""
    lin = np.linspace(0, budget, n // 2 + 1)[1:]
    log = np.logspace(0, np.log10(budget / (n // 2)), n // 2)
    return np.unique(np.r_[0, np.round(log), np.round(lin)]).astype(int)


def make_synthetic(tasks: tuple[str, ...] = ("toy-a", "toy-b"), n_seeds: int = 3, budget: int = 20000,
                   weight_decays: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0),
                   init_scales: tuple[float, ...] = (1.0, 2.0), missing: float = 0.0,
                   unmemorised: bool = True, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, traces, measures) in the harness's formats; ``missing``: share of values set missing."""
    rng = np.random.default_rng(seed)
    run_rows, trace_parts = [], []
    for task in tasks:
        settings = [(wd, a, s) for wd in weight_decays for a in init_scales for s in range(n_seeds)]
        if unmemorised:
            settings.append((1.0, 8.0, 0))  # a control run that never memorises
        for wd, alpha, s in settings:
            rid = f"{task}-wd{wd}-a{alpha}-s{s}"
            memorises = alpha < 8.0
            t_mem = float(np.round(100 * alpha * np.exp(rng.normal(0, 0.1)))) if memorises else np.nan
            if memorises and wd > 0:
                D = 0.5 / wd * np.sqrt(alpha) * np.exp(rng.normal(0, 0.15))
                t_gen = float(np.round(t_mem * 10**D))
            else:
                D, t_gen = np.nan, np.nan
            censored = not (t_gen <= budget)
            if censored:
                t_gen = np.nan
            stop = budget if censored else int(min(budget, 1.5 * t_gen))
            steps = checkpoint_steps(budget)
            steps = steps[steps <= stop]
            if memorises:
                end = t_gen if not censored else np.inf
                f = np.clip((end - steps) / (end - t_mem), 0.0, 1.0) if not censored else np.ones(len(steps))
                if censored:  # never generalises: test loss stays high, slowly drifting
                    f = np.clip(1.0 - 0.1 * np.maximum(steps - t_mem, 0) / budget, 0, 1)
                train_loss = 2.0 * np.exp(-steps / (t_mem / 3.0)) + 1e-3
                train_acc = np.clip(steps / t_mem, 0, 1)
            else:
                f = np.ones(len(steps))
                train_loss = np.full(len(steps), 2.0)
                train_acc = np.full(len(steps), 0.5)
            test_loss = 0.05 + 3.0 * f
            if memorises and not censored:
                test_acc = np.clip(1.0 - f, 0.1, 1.0) ** 4
            else:
                test_acc = np.full(len(steps), 0.1)
            Dm = (D if wd > 0 else 3.0) if memorises else 0.0
            rise = np.clip(steps / t_mem, 0, 1) if memorises else np.zeros(len(steps))
            values = {
                "good": np.where(steps < t_mem, 1.0 + (1.0 + Dm) * (0.5 + 0.5 * rise), 1.0 + (1.0 + Dm) * f)
                if memorises
                else np.ones(len(steps)),
                "random": rng.normal(size=len(steps)),
                "train-loss": train_loss,
                "step": steps.astype(float),
                "oracle-test-loss": test_loss,
            }
            run_rows.append({
                "run_id": rid, "task": task, "seed": s, "t_mem": t_mem, "t_gen": t_gen, "censored": censored,
                "delay": np.log10(max(t_gen if not censored else budget, 1) / max(t_mem, 1)) if memorises else np.nan,
                "budget": budget, "threshold": 0.99, "axes": "weight_decay+init_scale",
                "weight_decay": wd, "init_scale": alpha, "lr": 1e-3, "steps": budget,
            })
            for name, v in values.items():
                v = v.astype(float).copy()
                err = np.full(len(v), "", dtype=object)
                if missing > 0:
                    miss = rng.random(len(v)) < missing
                    v[miss] = np.nan
                    err[miss] = "synthetic: value withheld"
                trace_parts.append(pd.DataFrame({
                    "run_id": rid, "task": task, "step": steps, "measure": name, "value": v,
                    "seconds": 0.001, "error": err, "train_loss": train_loss, "test_loss": test_loss,
                    "train_acc": train_acc, "test_acc": test_acc,
                }))
    return pd.DataFrame(run_rows), pd.concat(trace_parts, ignore_index=True), MEASURES.copy()
