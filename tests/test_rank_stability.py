"""Do the committed default suite's ranks survive events that move by one evaluation?

On another CPU a run's events can land one evaluation away (README, "Reproducibility"):
with MKL's CPU-independent path none moved on the Intel Xeon measured, but a CPU not
measured may still differ. The committed ``results/`` are re-scored with the events of
(a) the run that moved on the Intel Xeon without that path, moved as measured there,
and (b) the first generalising run of each task moved one evaluation earlier; every
ranked measure's rank should stay within its committed 95% rank interval.

It does not hold (xfail, strict: the marker must go when a rank rule makes it hold):
the rank is not the quantity its interval covers. Under protocol 2 the rank was 1 + the
number of measures better with >= 95% bootstrap probability, and a pair near that line
flipped with one run's events (measured: (a) `random` 12 -> 11 against [12-14]; (b) the
same and `stable-rank` 3 -> 2 against [3-10]). Under protocol 3 (Holm) every measure of
the default suite shares rank 1 and no rank moves, but rank 1 already sits below most
intervals (e.g. `l2` 1 [3-14.5]).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from complexity_bench.pipeline.results_files import read_manifest, read_results
from complexity_bench.scoring import ScoreConfig, score

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
# measured on an Intel Xeon (AVX-512) with MKL's own path for that CPU: this run's events were
# 2100 / 2850 against the committed 2250 / 3000 (the AMD EPYC's), one evaluation earlier each
INTEL_MOVE = {"sparse-parity-e6e37b2e13f85a3c": -1}


def neighbour_evaluation(curve_steps: np.ndarray, step: float, way: int) -> float:
    """The evaluation step just before (way=-1) or after (way=+1) ``step`` in a run's curve."""
    steps = np.sort(curve_steps)
    i = np.searchsorted(steps, step)
    assert steps[i] == step, "events are evaluation steps"
    return float(steps[i + way])


def first_per_task(runs: pd.DataFrame) -> dict[str, int]:
    """The first generalising run of each task (by run id), moved one evaluation earlier."""
    grokking = runs[~runs["censored"]].sort_values("run_id")
    return {rid: -1 for rid in grokking.groupby("task")["run_id"].first()}


def moved_events(runs: pd.DataFrame, curves: pd.DataFrame, moves: dict[str, int]) -> pd.DataFrame:
    """``runs`` with T_mem and T_gen of each run in ``moves`` moved by one evaluation (-1 / +1)."""
    out = runs.copy()
    for run_id, way in moves.items():
        idx = out.index[out["run_id"] == run_id][0]
        steps = curves.loc[curves["run_id"] == run_id, "step"].to_numpy(float)
        for col in ("t_mem", "t_gen"):
            out.loc[idx, col] = neighbour_evaluation(steps, out.loc[idx, col], way)
    out["delay"] = np.log10(out["t_gen"] / out["t_mem"])
    return out


def test_neighbour_evaluation_and_moves():
    steps = np.array([0, 150, 300, 450])
    assert neighbour_evaluation(steps, 300, -1) == 150 and neighbour_evaluation(steps, 300, +1) == 450
    runs = pd.DataFrame({"run_id": ["a"], "t_mem": [150.0], "t_gen": [300.0], "censored": [False]})
    curves = pd.DataFrame({"run_id": "a", "step": steps})
    moved = moved_events(runs, curves, {"a": +1})
    assert moved.loc[0, ["t_mem", "t_gen"]].tolist() == [300.0, 450.0]
    assert moved.loc[0, "delay"] == pytest.approx(np.log10(1.5))


def test_the_intel_move_is_the_measured_one():
    runs, _, curves, _ = read_results(RESULTS)
    moved = moved_events(runs, curves, INTEL_MOVE).set_index("run_id")
    assert moved.loc["sparse-parity-e6e37b2e13f85a3c", ["t_mem", "t_gen"]].tolist() == [2100.0, 2850.0]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the rank is not the quantity its interval covers (module docstring)")
@pytest.mark.parametrize("which", ["intel_move", "first_per_task"])
def test_default_suite_ranks_stay_within_their_intervals_when_events_move_by_one_evaluation(which):
    runs, traces, curves, measures = read_results(RESULTS)
    committed = pd.read_csv(RESULTS / "leaderboard.csv").set_index("measure")
    moves = INTEL_MOVE if which == "intel_move" else first_per_task(runs)
    n_boot = int(read_manifest(RESULTS).get("bootstrap", 1000))
    board = score(moved_events(runs, curves, moves), traces, measures, ScoreConfig(n_boot=n_boot)).leaderboard
    board = board.set_index("measure")
    ranked = committed[committed["section"] == "ranked"]
    outside = {name: (board.loc[name, "rank"], row["rank_lo"], row["rank_hi"]) for name, row in ranked.iterrows()
               if not row["rank_lo"] <= board.loc[name, "rank"] <= row["rank_hi"]}
    assert not outside, outside
