"""One budget per task (docs/protocol.md, "Budgets").

The step budget sets the evaluation and checkpoint schedule, and where a control is
censored; if it differed by variant it could line up with each variant's outcome.
"""

import pytest

from complexity_bench.task import BUDGET_PARAMS, SUITES, TASKS, Task

REGISTERED = sorted(t.name for t in TASKS)


@pytest.mark.parametrize("name", REGISTERED)
@pytest.mark.parametrize("suite", [s for s in SUITES if s != "smoke"])
def test_every_variant_of_a_task_shares_its_budget_and_schedule(name, suite):
    task = TASKS.get(name)
    variants = task.variants(suite)
    for v in variants:
        params = v.param_dict
        for key in BUDGET_PARAMS:
            assert params.get(key) == task.defaults.get(key), (v, key)
    schedules = {tuple(task.checkpoint_steps(v.param_dict["steps"])) for v in variants}
    assert len(schedules) <= 1


def test_a_grid_that_moves_the_budget_is_refused():
    class Bad(TASKS.get("modadd-mlp").__class__):
        def grid(self, suite):
            return [{"weight_decay": 0.0, "steps": 6_000}, {"weight_decay": 0.2}]

    with pytest.raises(ValueError, match="one per task"):
        Bad().variants("default")
    assert len(Bad().variants("smoke")) == 2 * len(Task.seeds(Bad(), "smoke"))  # smoke may shorten runs
