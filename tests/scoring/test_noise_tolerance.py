""""No variance" means no variance beyond numerical noise, for every score and for the
Tracker's warning (complexity_bench/numerics.py); and an LMN cut that leaves only affine
stages is refused rather than scored (measures/lmn.py)."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from complexity_bench import Tracker, UserError
from complexity_bench.numerics import NOISE_RTOL, no_variance
from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.stats import weighted_pearson
from complexity_bench.tracker.spec import Data
from complexity_bench.tracker.warning import NO_VARIANCE, warning_table

from scoring_helpers import measures_table, run_row, trace_rows

RNG = np.random.default_rng(0)
STEPS = np.array([0, 10, 20, 40, 80, 160, 320, 640, 1000])
SCORES = ("ew_auroc", "fc_cindex", "fc_tau", "trk_rho", "headline")


def _suite(relative_wiggle: float):
    """Six runs (four grokking at different delays, two never), one measure whose values are
    1 + relative_wiggle * noise: float32 rounding of an LMN of 1 at the small end."""
    runs, traces = [], []
    for i, (t_mem, t_gen) in enumerate([(20, 80), (20, 160), (40, 320), (40, 640), (20, None), (40, None)]):
        runs.append(run_row(f"r{i}", t_mem, t_gen, 1000, weight_decay=0.1 * (i % 3 + 1)))
        values = 1.0 + relative_wiggle * RNG.standard_normal(len(STEPS))
        traces.append(trace_rows(f"r{i}", "m", STEPS, values, test_loss=np.linspace(3, 0.1 * (i + 1), len(STEPS))))
    return pd.DataFrame(runs), pd.concat(traces, ignore_index=True), measures_table(("m", 1))


def _scored(relative_wiggle: float) -> pd.Series:
    runs, traces, measures = _suite(relative_wiggle)
    return score(runs, traces, measures, ScoreConfig(n_boot=0, min_points=3)).by_task.set_index("measure").loc["m"]


def test_float32_rounding_is_no_variance_for_every_score():
    row = _scored(1e-7)  # LMN 1 ± 1e-7, as an affine head gives
    for col in SCORES:
        assert np.isnan(row[col]), (col, row[col])
    assert "constant" in row["nan_reasons"]


def test_a_real_change_is_scored():
    row = _scored(1e-3)  # 100 x the tolerance: scored like any measure
    for col in ("ew_auroc", "fc_cindex", "trk_rho"):
        assert np.isfinite(row[col]), (col, row["nan_reasons"])


def test_the_tolerance_is_relative():
    assert no_variance(1e9 * (1 + 1e-7 * RNG.standard_normal(50)))
    assert no_variance(1e-9 * (1 + 1e-7 * RNG.standard_normal(50)))
    assert not no_variance(1e-9 * (1 + 10 * NOISE_RTOL * RNG.standard_normal(50)))
    assert no_variance([]) and no_variance([np.nan, 2.0])


def test_weighted_correlation_of_rounding_noise_is_undefined():
    x = 1.0 + 1e-7 * RNG.standard_normal(8)
    assert np.isnan(weighted_pearson(x, np.arange(8.0), np.ones((2, 8)))).all()
    assert np.isfinite(weighted_pearson(1.0 + 1e-3 * np.arange(8.0), np.arange(8.0), np.ones((1, 8)))).all()


def _one_run_traces(values):
    steps = np.arange(len(values)) * 10.0
    return pd.DataFrame({"step": steps, "measure": "lmn", "value": values, "error": ""})


def test_warning_reads_no_progress_from_rounding_noise():
    wiggle = 1.0 + 1e-7 * np.array([0, 1, -1, 2, 0, -2, 1, 3, -3])
    table = warning_table(_one_run_traces(wiggle), {"lmn": 1}, 20.0, {"lmn": 0.3}, 1e-12)
    row = table.iloc[0]
    assert np.isnan(row["p"]) and not row["alarm"] and row["reason"] == NO_VARIANCE
    falling = np.array([1.0, 1.5, 2.0, 1.9, 1.7, 1.5, 1.3, 1.1, 1.0])
    row = warning_table(_one_run_traces(falling), {"lmn": 1}, 20.0, {"lmn": 0.3}, 1e-12).iloc[0]
    assert row["p"] == pytest.approx(1.0) and row["alarm"]


class HeadIsOneLinear(nn.Module):
    """Children that do not chain to the forward (the activation is functional): the README's
    case for lmn_cut=model.head, here with a head that is one Linear."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def _tracker(measures: str) -> tuple[Tracker, nn.Module]:
    torch.manual_seed(0)
    model = HeadIsOneLinear()
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    tracker = Tracker(measures, Data(probe=x[:16], train=(x, y)), lmn_cut=model.head, alarms=None)
    # only lmn and l2 computed, to keep the test short ("all" leaves lmn unnamed: skipped, not refused)
    tracker.measures = [m for m in tracker.measures if m.name in ("lmn", "l2")]
    return tracker, model


def test_lmn_on_an_affine_cut_is_skipped_with_the_reason():
    tracker, model = _tracker("all")
    tracker.log(0, model)
    assert "lmn" in tracker.skipped and "affine" in tracker.skipped["lmn"]
    assert set(tracker.traces["measure"]) == {"l2"}


def test_lmn_named_on_an_affine_cut_is_refused():
    tracker, model = _tracker("lmn,l2")
    with pytest.raises(UserError, match="affine"):
        tracker.log(0, model)
