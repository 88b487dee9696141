"""`tracker.warning()` printed in an 80-column terminal shows every column, p and threshold included."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from complexity_bench import Tracker


def _tracker() -> Tracker:
    # l2 = |w|: rises 1 -> 3 until T_mem = 20, then falls back; p(t) = (3 - w(t)) / (3 - 1)
    model, t = nn.Linear(1, 1, bias=False), Tracker("l2,step", alarms={"l2": 0.5})
    for step, w in {0: 1.0, 10: 2.0, 20: 3.0, 30: 3.0, 40: 2.5, 50: 1.9, 60: 1.5, 70: 2.2}.items():
        with torch.no_grad():
            model.weight.fill_(w)
        t.log(step, model, train_acc=1.0 if step >= 20 else 0.0)
    return t


def test_printed_warning_has_every_column_within_80_characters():
    table = _tracker().warning()
    with pd.option_context("display.max_columns", 0, "display.width", 80):  # a terminal's settings
        text = repr(table)
    lines = text.splitlines()
    assert "..." not in text and max(map(len, lines)) <= 80
    assert lines[0] == "T_mem = 20"
    assert lines[1].split() == ["measure", "step", "p", "p_max", "threshold", "alarm", "alarm_step"]
    assert lines[2].split() == ["l2", "70", "0.4", "0.75", "0.5", "True", "50"]  # alarm first at 50: p = 0.55
    assert lines[3].split()[:4] == ["step", "70", "2.5", "2.5"]  # p = t/T_mem - 1
    assert lines[4] == "step: no calibrated threshold for this measure"
    assert str(table) == text


def test_the_table_is_still_a_dataframe_with_every_value():
    table = _tracker().warning()
    row = table.set_index("measure").loc["l2"]
    assert (row["t_mem"], row["threshold"], row["alarm_step"]) == (20, 0.5, 50)
    assert (row["p"], row["p_max"]) == pytest.approx((0.4, 0.75), abs=1e-6)  # w = 2.2 in float32; eps
    assert type(table[["measure", "p"]]) is pd.DataFrame
