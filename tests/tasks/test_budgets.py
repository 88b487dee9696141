"""One budget per task (docs/protocol.md, "Budgets").

The step budget sets the evaluation and checkpoint schedule, and where a control is
censored; if it differed by variant it could line up with each variant's outcome.
"""

import pytest

from complexity_bench.contracts.task import BUDGET_PARAMS, SUITES, TASKS, Task

REGISTERED = sorted(t.name for t in TASKS)


@pytest.mark.parametrize("name", REGISTERED)
@pytest.mark.parametrize("suite", [s for s in SUITES if s != "smoke"])
def test_every_variant_of_a_task_shares_its_budget_and_schedule(name, suite):
    task = TASKS.get(name)
    variants = task.variants(suite)
    # the long suite trains every variant of a task its own long budget without early stop
    budget = {**task.defaults, **task.long_budget, "stop_factor": None} if suite == "long" else task.defaults
    for v in variants:
        params = v.param_dict
        for key in BUDGET_PARAMS:
            assert params.get(key) == budget.get(key), (v, key)
    schedules = {tuple(task.checkpoint_steps(v.param_dict["steps"])) for v in variants}
    assert len(schedules) <= 1


def test_a_grid_that_moves_the_budget_is_refused():
    class Bad(TASKS.get("modadd-mlp").__class__):
        def grid(self, suite):
            return [{"weight_decay": 0.0, "steps": 6_000}, {"weight_decay": 0.2}]

    with pytest.raises(ValueError, match="one per task"):
        Bad().variants("default")
    assert len(Bad().variants("smoke")) == 2 * len(Task.seeds(Bad(), "smoke"))  # smoke may shorten runs


def _inherits_its_long_budget(task: Task) -> bool:
    """A task with long configurations whose ``long_budget`` is its parent's, not its own."""
    return bool(task.grid("long")) and "long_budget" not in vars(type(task))


def test_every_task_with_long_configurations_states_its_own_long_budget():
    """``long_budget`` is a class attribute: a subclass that adds long configurations would
    silently train its parent's budget, one fixed from another task's pilot (docs/protocol.md,
    "The instability question"). Each task in ``long`` states its own."""
    assert [t.name for t in TASKS if t.grid("long")]  # the check has tasks to look at
    assert [t.name for t in TASKS if _inherits_its_long_budget(t)] == []

    class Heir(TASKS.get("modadd-mlp").__class__):
        name = "heir"

    class Stated(Heir):
        long_budget = {"steps": 1_000}

    assert _inherits_its_long_budget(Heir()) and not _inherits_its_long_budget(Stated())


def test_checkpoint_counts_are_those_the_docs_quote():
    """tasks/_common.checkpoint_schedule's docstring, docs/tasks.md and the README quote these counts."""
    from complexity_bench.tasks._common import checkpoint_schedule, eval_schedule

    for max_linear in (200, 400, 800):
        for steps in (2_000, 5_000, 20_000, 30_000, 60_000, 200_000):
            assert 38 <= len(checkpoint_schedule(eval_schedule(steps, max_linear), steps)) <= 41, (max_linear, steps)
        for steps in (100, 300, 1_000, 1_999):
            assert 11 <= len(checkpoint_schedule(eval_schedule(steps, max_linear), steps)) <= 13, (max_linear, steps)


@pytest.mark.parametrize("name", ["modadd-mlp", "s4-mlp", "xor-mlp", "sparse-parity", "teacher-student", "digits-mlp"])
def test_builtin_budgets_give_39_to_41_checkpoints_and_smoke_11(name):
    task = TASKS.get(name)
    assert 39 <= len(task.checkpoint_steps(task.defaults["steps"])) <= 41
    assert len(task.checkpoint_steps(task.variants("smoke")[0].param_dict["steps"])) == 11


def test_a_trackers_planned_schedule_has_51_to_56_logs():
    """tracker/schedule.py and docs/tracker.md quote this count (and the costs derived from it)."""
    from complexity_bench.tracker.schedule import planned_schedule

    for steps in (300, 1_000, 5_000, 20_000, 60_000):
        assert 51 <= len(planned_schedule(steps)) <= 56, steps
