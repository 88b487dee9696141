"""Figures: the PNGs exist, are real images, and survive missing data."""

import numpy as np
import pandas as pd
from matplotlib.image import imread

from complexity_bench.figures import write_figures
from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.synthetic import make_synthetic

from scoring_helpers import measures_table, run_row, trace_rows


def test_writes_readable_pngs(tmp_path):
    runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=1, missing=0.1)
    tables = score(runs, traces, measures, ScoreConfig(n_boot=10))
    curves = traces.drop_duplicates(["run_id", "step"])[["run_id", "step", "train_acc", "test_acc"]]
    paths = write_figures(runs, traces, tables, tmp_path / "figures", curves=curves)
    assert sorted(p.name for p in paths) == ["leaderboard.png", "toy_curves.png", "toy_vs_test_loss.png"]
    for p in paths:
        img = imread(p)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img.std() > 0.01  # something was drawn


def test_survives_no_grokking_and_all_missing(tmp_path):
    runs = pd.DataFrame([run_row("A", 10.0, None, 100), run_row("B", np.nan, None, 100)])
    traces = pd.concat([trace_rows("A", "m", [0, 10, 100], [np.nan] * 3, errors=["boom"] * 3),
                        trace_rows("B", "m", [0, 10, 100], [1.0, 2.0, 3.0])])
    tables = score(runs, traces, measures_table(("m", 1), ("absent", -1)), ScoreConfig(n_boot=5))
    paths = write_figures(runs, traces, tables, tmp_path)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
