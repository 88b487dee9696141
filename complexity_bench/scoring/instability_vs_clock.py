"""Does a measure announce instability better than the clock? (docs/protocol.md, "Beating the clock").

Per task: P(measure's ``in_auroc`` > ``step``'s ``in_auroc``) over the bootstrap replicates
where both are defined (the same replicates, so the comparison is paired; ties count 1/2),
and "beats the clock" when Holm's step-down procedure over every measure with an
``in_auroc`` on that task rejects "not better" at familywise level 1 - ``tie_probability``.
Across tasks (scope ``all``): a measure's replicate is its mean over the tasks where both
it and the clock are defined, the clock's the mean over the same tasks; Holm over the
measures. Only causal measures other than the clock take part (the oracle is never
compared).

    >>> import numpy as np, pandas as pd
    >>> by_task = pd.DataFrame({"measure": ["step", "a", "b"], "task": "t", "causal": True,
    ...                         "in_auroc": [0.6, 0.9, 0.6]})
    >>> reps = {("step", "t"): {"in_auroc": np.full(40, 0.6)}, ("a", "t"): {"in_auroc": np.full(40, 0.9)},
    ...         ("b", "t"): {"in_auroc": np.full(40, 0.6)}}
    >>> rows, pairs = versus_clock(by_task, reps, tie_probability=0.95)
    >>> rows[["in_p_beats_step", "in_beats_step"]].values.tolist()
    [[nan, <NA>], [1.0, True], [0.5, False]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from complexity_bench.scoring.ranking import beat_probabilities, defined_pairs, holm_beats

CLOCK = "step"
SCORE = "in_auroc"


def _p_beats(a: np.ndarray, clock: np.ndarray) -> tuple[float, int]:
    """P(a > clock) over replicates where both are finite (ties 1/2), and how many there are: the
    ranks' pairwise rule (ranking.beat_probabilities) for this one pair."""
    reps = np.stack([a, clock])
    return float(beat_probabilities(reps, higher=True)[0, 1]), int(defined_pairs(reps)[0, 1])


def _holm(p: list[float], alpha: float) -> np.ndarray:
    """Holm over one comparison per measure: the (M+1, M+1) matrix holm_beats reads, with only
    the clock's column filled."""
    m = len(p)
    mat = np.full((m + 1, m + 1), np.nan)
    mat[:m, m] = p
    return holm_beats(mat, alpha)[:m, m]


def _decide(scope: str, items: list[tuple[str, np.ndarray, np.ndarray]],
            alpha: float) -> tuple[dict[str, tuple[float, bool]], list[dict]]:
    """items: (measure, its replicates, the clock's replicates on the same tasks)."""
    results = [_p_beats(a, clock) for _, a, clock in items]
    beats = _holm([p for p, _ in results], alpha) if items else np.zeros(0, bool)
    out, pairs = {}, []
    for (name, _, _), (p, n), b in zip(items, results, beats):
        out[name] = (p, bool(b))
        pairs.append({"scope": scope, "score": SCORE, "measure_a": name, "measure_b": CLOCK,
                      "p_a_beats_b": p, "n_boot": n, "a_beats_b": bool(b)})
    return out, pairs


def _candidates(g: pd.DataFrame) -> list[str]:
    ok = g["causal"].astype(bool) & (g["measure"].astype(str) != CLOCK) & np.isfinite(g[SCORE].to_numpy(float))
    return g.loc[ok, "measure"].astype(str).tolist()


def versus_clock(by_task: pd.DataFrame, reps: dict, tie_probability: float) -> tuple[pd.DataFrame, list[dict]]:
    """Add ``in_auroc_step``, ``in_p_beats_step``, ``in_beats_step`` to the by-task rows; return
    them with the pairwise rows (per task, then across tasks)."""
    out = by_task.copy()
    alpha = 1.0 - tie_probability
    out["in_auroc_step"] = np.nan
    out["in_p_beats_step"] = np.nan
    out["in_beats_step"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if SCORE not in out or out.empty:
        return out, []
    pairs: list[dict] = []
    clock_tasks: list[str] = []
    for task, g in out.groupby(out["task"].astype(str), sort=False):
        clock_row = g[g["measure"].astype(str) == CLOCK]
        if clock_row.empty or not np.isfinite(float(clock_row[SCORE].iloc[0])):
            continue
        clock_tasks.append(task)
        out.loc[g.index, "in_auroc_step"] = float(clock_row[SCORE].iloc[0])
        clock = reps.get((CLOCK, task), {}).get(SCORE, np.zeros(0))
        items = [(n, reps[(n, task)].get(SCORE, np.full(len(clock), np.nan)), clock) for n in _candidates(g)]
        decided, p = _decide(task, items, alpha)
        pairs += p
        for idx in g.index:
            name = str(out.at[idx, "measure"])
            if name in decided:
                out.at[idx, "in_p_beats_step"], out.at[idx, "in_beats_step"] = decided[name]
    pairs += _across_tasks(out, reps, clock_tasks, alpha)
    return out, pairs


def _across_tasks(by_task: pd.DataFrame, reps: dict, clock_tasks: list[str], alpha: float) -> list[dict]:
    """Scope ``all``: each measure against the clock, both averaged over the tasks where both are defined."""
    on = by_task[by_task["task"].astype(str).isin(clock_tasks)]
    items = []
    for name, g in on.groupby(on["measure"].astype(str), sort=False):
        tasks = [str(t) for t in g.loc[g["measure"].astype(str).isin(_candidates(g)), "task"]]
        if tasks:
            items.append((name, np.mean([reps[(name, t)][SCORE] for t in tasks], axis=0),
                          np.mean([reps[(CLOCK, t)][SCORE] for t in tasks], axis=0)))
    return _decide("all", items, alpha)[1]
