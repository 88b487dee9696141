"""Ranks under a familywise rule, and leave-one-task-out ranks (complexity_bench.scoring.ranking,
leaderboard; docs/protocol.md, "Version 3")."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import HIGHER_IS_BETTER, SCORES
from complexity_bench.scoring import conditional, early_warning, forecast, granulated, instability, tracking
from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.leaderboard import build_leaderboard, with_headline
from complexity_bench.scoring.ranking import holm_beats, rank_with_ties


def test_holm_by_hand():
    # Ordered p-values 1 - P: (0,1) 0.0, (0,2) 0.004, (1,2) 0.01, the rest >= 0.99; m = 6 hypotheses.
    P = np.array([[np.nan, 1.0, 0.996], [0.0, np.nan, 0.99], [0.004, 0.01, np.nan]])
    # 0.0 <= 0.05/6, 0.004 <= 0.05/5, 0.01 <= 0.05/4: all three rejected, then 0.99 > 0.05/3 stops.
    assert holm_beats(P, 0.05).astype(int).tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    P[1, 2], P[2, 1] = 0.985, 0.015  # 0.015 > 0.05/4 = 0.0125: stops there
    assert holm_beats(P, 0.05).astype(int).tolist() == [[0, 1, 1], [0, 0, 0], [0, 0, 0]]


def test_a_sole_first_place_needs_to_survive_the_family():
    """Twenty measures, each 0.97 likely to beat the next: one at a time at 95% that is a strict
    ladder of 20 ranks; under Holm no comparison survives, and all share rank 1."""
    rng = np.random.default_rng(0)
    M, B = 20, 1000
    base = rng.normal(size=(1, B))
    # measure i leads measure i+1 in ~97% of replicates and everyone else by more
    reps = base + np.arange(M)[::-1, None] * 0.02 + rng.normal(scale=0.0075, size=(M, B))
    r = rank_with_ties(reps.mean(axis=1), reps, higher=True)
    p_next = np.array([r.p_beats[i, i + 1] for i in range(M - 1)])
    assert (p_next > 0.95).mean() > 0.5  # the per-comparison rule would separate most neighbours
    assert r.rank[0] == 1 and r.rank[1] == 1  # the familywise rule does not separate the top two
    assert (np.diff(r.rank) >= 0).all()


def _board(heads: dict[str, list[float]]) -> tuple[pd.DataFrame, dict]:
    tasks = [f"t{k}" for k in range(len(next(iter(heads.values()))))]
    rows, reps = [], {}
    rng = np.random.default_rng(1)
    for m, hs in heads.items():
        for t, h in zip(tasks, hs):
            rows.append({**dict.fromkeys(SCORES, np.nan), "measure": m, "task": t, "causal": True, "n_ckpt": 1,
                         "n_runs": 1, "n_missing": 0, "cw_auroc": h, "cf_cindex": h, "ew_auroc": h, "fc_cindex": h,
                         "nan_reasons": ""})
            noise = rng.normal(scale=0.001, size=200)
            reps[(m, t)] = {"cw_auroc": h + noise, "cf_cindex": h + noise, "headline": h + noise}
    return with_headline(pd.DataFrame(rows)), reps


def test_leave_one_task_out_ranks():
    """b wins only because of task t0: leaving t0 out puts a first."""
    by_task, reps = _board({"a": [0.50, 0.70, 0.70], "b": [0.95, 0.66, 0.66]})
    lb, _ = build_leaderboard(by_task, reps, [], ScoreConfig(n_boot=200))
    lb = lb.set_index("measure")
    assert lb.loc["b", "rank"] == 1 and lb.loc["a", "rank"] == 2
    assert (lb.loc["b", "rank_loto_min"], lb.loc["b", "rank_loto_max"]) == (1, 2)
    assert (lb.loc["a", "rank_loto_min"], lb.loc["a", "rank_loto_max"]) == (1, 2)
    assert lb.loc["b", ["headline_task_min", "headline_task_median", "headline_task_max"]].tolist() == \
        pytest.approx([0.66, 0.66, 0.95])


def test_every_score_column_is_declared_by_exactly_one_scorer():
    modules = (tracking, early_warning, forecast, granulated, conditional, instability)
    declared = [c for m in modules for c in m.COLUMNS]
    assert len(declared) == len(set(declared))
    assert HIGHER_IS_BETTER == {c: v for m in modules for c, v in m.COLUMNS.items()}
