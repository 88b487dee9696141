"""Every interval column says how many bootstrap replicates it rests on when some are undefined
(``replicates_defined``; docs/scoring.md), so no replicate is left out silently."""

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.bootstrap import task_weights
from complexity_bench.scoring.conditional import score_conditional
from complexity_bench.scoring.prepare import TaskRuns, extract_series, judgement_steps
from complexity_bench.scoring.synthetic import make_synthetic

B = 50


def _parse(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, str(text).split("; ")):
        col, frac = part.rsplit(" ", 1)
        k, b = frac.split("/")
        assert int(b) == B
        out[col] = int(k)
    return out


def _cf_reps(runs: pd.DataFrame, traces: pd.DataFrame, task: str, cfg: ScoreConfig) -> np.ndarray:
    """cf_cindex's replicates of measure "good" on one task, from the scorer's own building blocks."""
    truns = TaskRuns.from_frame(runs[runs["task"] == task])
    tr = traces[traces["task"] == task]
    truns.init_step, truns.mem_step, truns.steps = judgement_steps(truns, tr)
    series = extract_series(tr[tr["measure"] == "good"], truns, 1)
    return score_conditional(series, truns, task_weights(truns, cfg), cfg).reps["cf_cindex"]


@pytest.fixture(scope="module")
def scored():
    # 2 seeds: a replicate that draws one seed twice has no pair of seeds of one configuration
    runs, traces, measures = make_synthetic(tasks=("toy-a", "toy-b"), n_seeds=2)
    cfg = ScoreConfig(n_boot=B, scorer_baselines=False)
    return runs, traces, cfg, score(runs, traces, measures, cfg)


def test_by_task_counts_the_defined_replicates_of_each_interval(scored):
    runs, traces, cfg, t = scored
    row = t.by_task.set_index(["measure", "task"]).loc[("good", "toy-a")]
    counts = _parse(row["replicates_defined"])
    want = int(np.isfinite(_cf_reps(runs, traces, "toy-a", cfg)).sum())
    assert 0 < want < B
    assert counts["cf_cindex"] == want
    assert counts["headline"] == row["headline_n_boot"]
    # a score whose replicates are all defined is not listed
    assert all(k < B for k in counts.values())


def test_leaderboard_counts_replicates_defined_on_every_task(scored):
    runs, traces, cfg, t = scored
    row = t.leaderboard.set_index("measure").loc["good"]
    both = np.isfinite(_cf_reps(runs, traces, "toy-a", cfg)) & np.isfinite(_cf_reps(runs, traces, "toy-b", cfg))
    assert _parse(row["replicates_defined"])["cf_cindex"] == int(both.sum())
