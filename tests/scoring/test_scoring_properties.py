"""Property tests (hypothesis) of the scoring invariants (docs/protocol.md)."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complexity_bench.scoring import ScoreConfig, score

from scoring_helpers import measures_table, run_row

# Scores computed from ranks of the measure only (within runs or of m(T_mem) across runs).
RANK_SCORES = ("trk_rho", "trk_rho_run_median", "fc_tau", "fc_cindex", "fc_psi",
               "fc_sign_error_mean", "fc_sign_error_max", "cw_auroc", "cf_cindex", "ctl_auroc")
RANGES = {"trk_rho": (-1, 1), "trk_r2": (0, 1), "trk_rho_run_median": (-1, 1), "trk_r2_run_median": (0, 1),
          "ew_auroc": (0, 1), "ew_lead_time": (0, np.inf), "ew_detect_rate": (0, 1),
          "ew_false_alarm_rate": (0, 1), "ew_false_alarm_floor": (0, 1),
          "fc_tau": (-1, 1), "fc_tau_excess": (-1, 1), "fc_cindex": (0, 1),
          "fc_cindex_excess": (0, 1), "fc_psi": (-1, 1), "fc_sign_error_mean": (0, 1),
          "fc_sign_error_max": (0, 1), "cw_auroc": (0, 1), "cf_cindex": (0, 1), "ctl_auroc": (0, 1)}
STEPS = np.array([0, 5, 10, 20, 40, 80, 160, 320, 640])
CFG = ScoreConfig(n_boot=8, sign_tol=0.0, scorer_baselines=False)  # the properties of one measure's scores
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def datasets(draw):
    """A task of 5-9 runs on a 2x2 grid with random events, values (ties optional) and missing values."""
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(5, 9))
    coarse = draw(st.booleans())
    rng = np.random.default_rng(seed)
    runs, parts = [], []
    for k in range(n):
        t_mem = float(rng.choice([4, 8, 15]))
        never = rng.random() < 0.3
        t_gen = None if never else float(rng.choice([30, 60, 120, 250, 500]))
        rid = f"r{k}"
        runs.append(run_row(rid, t_mem, t_gen, 640, weight_decay=float(k % 2), a=float((k // 2) % 2)))
        runs[-1]["seed"] = k // 4  # seeds crossed with the 2x2 grid
        v = rng.normal(size=len(STEPS)).cumsum()
        if coarse:
            v = np.round(v)
        v[rng.random(len(STEPS)) < 0.1] = np.nan
        tl = np.sort(rng.random(len(STEPS)))[::-1] * 3
        parts.append(pd.DataFrame({"run_id": rid, "task": "t", "step": STEPS, "measure": "m", "value": v,
                                   "seconds": 0.0, "error": "", "train_loss": 0.0, "test_loss": tl,
                                   "train_acc": 1.0, "test_acc": 0.0}))
    return pd.DataFrame(runs), pd.concat(parts, ignore_index=True)


def _row(runs, traces, direction=1):
    return score(runs, traces, measures_table(("m", direction)), CFG).by_task.iloc[0]


def _same(a, b, cols):
    for c in cols:
        x, y = float(a[c]), float(b[c])
        assert (np.isnan(x) and np.isnan(y)) or abs(x - y) < 1e-9, (c, x, y)


@FAST
@given(datasets(), st.sampled_from(["exp", "cube", "affine"]))
def test_rank_scores_invariant_to_increasing_transforms(data, kind):
    runs, traces = data
    f = {"exp": lambda v: np.exp(v / 4), "cube": lambda v: v**3 + v, "affine": lambda v: 3 * v - 7}[kind]
    a = _row(runs, traces)
    b = _row(runs, traces.assign(value=f(traces["value"])))
    _same(a, b, RANK_SCORES)
    _same(a, b, [f"{c}_lo" for c in RANK_SCORES] + [f"{c}_hi" for c in RANK_SCORES])


@FAST
@given(datasets())
def test_direction_flip(data):
    runs, traces = data
    a = _row(runs, traces, 1)
    b = _row(runs, traces, -1)
    for c in ("trk_rho", "trk_rho_run_median", "fc_tau", "fc_tau_excess", "fc_psi"):
        _same({c: -a[c]}, b, [c])
    for c in ("ew_auroc", "fc_cindex", "fc_cindex_excess", "fc_sign_error_mean", "cw_auroc", "cf_cindex", "ctl_auroc"):
        _same({c: 1 - a[c]}, b, [c])
    _same(a, b, ["trk_r2", "trk_r2_run_median"])
    # Negating the values and the direction together changes nothing at all.
    c = _row(runs, traces.assign(value=-traces["value"]), -1)
    _same(a, c, list(RANGES))


@FAST
@given(datasets())
def test_scores_in_range_and_intervals_ordered(data):
    runs, traces = data
    row = _row(runs, traces)
    for c, (lo, hi) in RANGES.items():
        for col in (c, f"{c}_lo", f"{c}_hi"):
            v = float(row[col])
            assert np.isnan(v) or lo - 1e-12 <= v <= hi + 1e-12, (col, v)
        if np.isfinite(row[f"{c}_lo"]):
            assert row[f"{c}_lo"] <= row[f"{c}_hi"] + 1e-12
        if np.isnan(row[c]):
            assert f"{c}:" in row["nan_reasons"]


@FAST
@given(datasets(), st.integers(0, 1000))
def test_invariant_to_order_of_runs_and_checkpoints(data, seed):
    runs, traces = data
    rng = np.random.default_rng(seed)
    a = _row(runs, traces)
    b = _row(runs.iloc[rng.permutation(len(runs))], traces.iloc[rng.permutation(len(traces))])
    cols = [x for c in RANGES for x in (c, f"{c}_lo", f"{c}_hi")]
    _same(a, b, cols)


@FAST
@given(datasets())
def test_constant_measure_is_undefined_everywhere(data):
    """No variance in the inputs, no score: every score is NaN with its reason (before,
    AUROC and C-index scored a constant measure 0.5 and the sign-error 0.5)."""
    runs, traces = data
    row = _row(runs, traces.assign(value=np.where(traces["value"].isna(), np.nan, 2.0)))
    for c in RANGES:
        assert np.isnan(row[c]) and f"{c}:" in row["nan_reasons"], (c, row[c])
