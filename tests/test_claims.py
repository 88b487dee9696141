"""The paper-claims tables (complexity_bench.claims; docs/protocol.md, "The paper's claims").

The rule of claim (b) is checked on hand-built traces whose answer is known, the
shares and their intervals against direct counts, the within-run ρ against scipy,
and the README's block against a regeneration from the committed full suite.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from complexity_bench.claims import (
    END, START, RiseAndFall, render, replicate_weights, rise_and_fall_row, within_run_rho,
)
from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.prepare import TaskRuns

ROOT = Path(__file__).resolve().parents[1]
STEPS = np.array([0, 10, 50, 100, 150, 300, 600, 1000, 2000, 4000, 6000], float)


def trace(peak_at: float, fall: float) -> np.ndarray:
    """Rises linearly to 10 at ``peak_at``, then falls linearly to 10 * (1 - fall) at step 6000."""
    up = 1 + 9 * np.minimum(STEPS / peak_at, 1.0)
    down = np.clip((STEPS - peak_at) / (6000 - peak_at), 0, 1) * 10 * fall
    return up - down


@pytest.mark.parametrize("peak_at, fall, expected", [
    (150, 0.5, (True, True)),      # the paper's shape
    (600, 0.5, (True, True)),      # 4 x T_mem: the window's edge is inside
    (2000, 0.5, (False, True)),    # peaks long after memorisation
    (150, 0.05, (True, False)),    # falls only 5%
])
def test_rise_and_fall_rule_on_known_shapes(peak_at, fall, expected):
    assert RiseAndFall().judge(STEPS, trace(peak_at, fall), t_mem=150, t_gen=6000) == expected


def test_rise_and_fall_ignores_checkpoints_after_t_gen_and_needs_three_points():
    v = trace(150, 0.5)
    v[-1] = 100.0  # a rise after generalisation is not the peak before it
    assert RiseAndFall().judge(STEPS, v, t_mem=150, t_gen=4000) == (True, True)
    assert RiseAndFall().judge(STEPS[:2], v[:2], t_mem=150, t_gen=4000) is None


def test_a_monotone_rise_fails_and_a_nan_is_skipped():
    v = STEPS.copy()  # keeps rising through T_gen: peak at T_gen, no fall
    assert RiseAndFall().judge(STEPS, v, t_mem=150, t_gen=6000) == (False, False)
    w = trace(150, 0.5)
    w[4] = np.nan
    assert RiseAndFall().judge(STEPS, w, t_mem=150, t_gen=6000) == (True, True)


def _runs(n_cfg: int = 3, n_seed: int = 4, t_gen: float = 6000.0) -> pd.DataFrame:
    rows = [{"run_id": f"r{c}{s}", "task": "t", "t_mem": 150, "t_gen": t_gen, "censored": False, "budget": 20000,
             "axes": "weight_decay", "weight_decay": 0.1 * c, "seed": s} for c in range(n_cfg) for s in range(n_seed)]
    return pd.DataFrame(rows)


def _traces(runs: pd.DataFrame, shape_of, measure: str = "lmn") -> pd.DataFrame:
    return pd.DataFrame([{"run_id": r, "step": s, "measure": measure, "value": v}
                         for r in runs["run_id"] for s, v in zip(STEPS, shape_of(r))])


def test_shares_count_runs_and_intervals_bracket_them():
    runs = _runs()
    fails = {"r00", "r11", "r22"}  # 3 of 12 runs peak late
    tr = _traces(runs, lambda r: trace(2000 if r in fails else 150, 0.5))
    task_runs = TaskRuns.from_frame(runs)
    row = rise_and_fall_row(tr, task_runs, "lmn", replicate_weights(task_runs, ScoreConfig(n_boot=200)))
    assert row["n_runs"] == 12
    assert row["peak"][0] == pytest.approx(9 / 12) and row["fall"][0] == 1.0 and row["both"][0] == pytest.approx(9 / 12)
    assert row["peak"][1] <= 9 / 12 <= row["peak"][2] and row["fall"][1:] == (1.0, 1.0)


def test_censored_runs_are_not_judged():
    runs = _runs(t_gen=np.nan)
    tr = _traces(runs, lambda r: trace(150, 0.5))
    task_runs = TaskRuns.from_frame(runs)
    row = rise_and_fall_row(tr, task_runs, "lmn", replicate_weights(task_runs, ScoreConfig(n_boot=50)))
    assert row["n_runs"] == 0 and np.isnan(row["both"][0])


def test_within_run_rho_is_the_median_of_scipys():
    runs = _runs(n_cfg=1, n_seed=3)
    rng = np.random.default_rng(0)
    noisy = {r: trace(150, 0.5) + rng.normal(0, 2, len(STEPS)) for r in runs["run_id"]}
    a = _traces(runs, lambda r: trace(150, 0.5), "a")
    b = _traces(runs, lambda r: noisy[r], "b")
    task_runs = TaskRuns.from_frame(runs)
    rho, lo, hi, n = within_run_rho(pd.concat([a, b]), task_runs, "a", "b",
                                    replicate_weights(task_runs, ScoreConfig(n_boot=50)))
    expected = np.median([stats.spearmanr(trace(150, 0.5), noisy[r]).statistic for r in runs["run_id"]])
    assert n == 3 and rho == pytest.approx(expected) and lo <= rho <= hi


def test_readme_claims_match_the_committed_full_suite():
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(START), readme.index(END) + len(END)
    assert readme[start:end] == render(ROOT / "results" / "full", label="results/full")
