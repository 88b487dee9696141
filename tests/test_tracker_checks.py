"""What a Tracker refuses (one UserError naming the cause) and how it records a diverged model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from complexity_bench import Data, RunLabel, Schedule, Tracker, UserError

X = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
Y = torch.arange(16) % 3


def _net(width: int = 8, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, width), act(), nn.Linear(width, 3))


def _tracker(**kw) -> Tracker:
    return Tracker("l2,lmn", Data(probe=X, train=(X, Y)), **kw)


@pytest.mark.parametrize("other, named", [(_net(width=16), r"0\.weight was \(8, 4\), now \(16, 4\)"),
                                          (_net(act=nn.GELU), "was ReLU, now GELU")])
def test_another_architecture_midway_is_refused(other, named):
    t = _tracker()
    t.log(0, _net())
    with pytest.raises(UserError, match=f"architecture differs from the one logged at step 0 .*{named}"):
        t.log(1, other)
    t.log(1, _net())  # another object of the same architecture: the same run
    assert t.curve["step"].tolist() == [0, 1]


@pytest.mark.parametrize("step", [-1, 1.5, "3", True])
def test_a_step_that_is_not_a_whole_number_from_zero_is_refused(step):
    with pytest.raises(UserError, match="must be a whole number >= 0"):
        _tracker().log(step, _net())
    with pytest.raises(UserError, match="must be a whole number >= 0"):
        _tracker().due(step)


@pytest.mark.parametrize("schedule", [dict(threshold=5), dict(threshold=0), dict(threshold=math.nan),
                                      dict(consecutive=0), dict(every=2.5), dict(steps=-3)])
def test_impossible_schedule_settings_are_refused(schedule):
    with pytest.raises(UserError):
        Schedule(**schedule)


def test_settings_outside_their_group_say_where_they_belong():
    with pytest.raises(UserError, match=r"Tracker\(probe=...\).*data=Data\(probe=...\)"):
        Tracker("l2", probe=X)
    with pytest.raises(UserError, match=r"must be a Data"):
        Tracker("l2", X)
    with pytest.raises(UserError, match="seed must be a whole number"):
        RunLabel(seed=0.5)


def test_nan_weights_are_reported_as_non_finite_not_as_a_mutation():
    t, net = _tracker(), _net()
    t.log(0, net)
    with torch.no_grad():
        net[2].bias[1] = math.nan
    t.log(1, net)
    later = t.traces.query("step == 1")
    assert set(later["measure"]) == {"l2", "lmn"} and later["value"].isna().all()
    assert (later["error"] == "non-finite weights: NaN or inf in 2.bias (the run has diverged); not measured").all()


@pytest.mark.parametrize("which", ["probe", "train"])
def test_inputs_of_the_wrong_shape_name_the_argument_not_the_model(which):
    wrong = torch.randn(16, 5)
    data = Data(probe=wrong, train=(X, Y)) if which == "probe" else Data(probe=X, train=(wrong, Y))
    with pytest.raises(UserError, match=rf"^Data\({which}=...\): the model cannot run on it \(inputs of shape \(16, 5\)"):
        Tracker("l2,lmn", data).log(0, _net())


def test_one_accuracy_threshold_for_tasks_the_tracker_and_compute():
    from complexity_bench.contracts.events import ACCURACY_THRESHOLD
    from complexity_bench.contracts.task import Task

    assert Task.threshold == Schedule().threshold == _tracker().task.threshold == ACCURACY_THRESHOLD == 0.99
