"""The full suite is the design docs/protocol.md fixes ("Power and the suite design"):
8 seeds per non-control configuration, the task default and one weight-decay step
(the transformer: its default only), and a weight-decay-0 control at seeds 0-4."""

from complexity_bench.contracts.task import BUDGET_PARAMS, TASKS, is_control

# task -> (default weight decay, the one step, or None for the transformer), as docs/protocol.md's table fixes them
DESIGN = {
    "modadd-mlp": (0.2, 1.0), "modadd-relu": (0.2, 1.0), "s4-mlp": (0.2, 1.0), "s4-relu": (0.2, 1.0),
    "xor-mlp": (0.2, 1.0), "xor-relu": (0.2, 1.0), "digits-mlp": (0.1, 0.3), "teacher-student": (0.3, 1.0),
    "sparse-parity": (0.01, 0.03), "modadd-transformer": (1.0, None),
}


def _configs(variants):
    out = {}
    for v in variants:
        out.setdefault(v.params, []).append(v.seed)
    return out


def test_full_suite_holds_exactly_the_designed_tasks_configurations_and_seeds():
    got = {}
    for task in TASKS:
        variants = task.variants("full")
        if not variants:
            continue
        configs = _configs(variants)
        wds = {}
        for params, seeds in configs.items():
            p = dict(params)
            # every configuration is the task's default but for its weight decay
            assert {k: v for k, v in p.items() if k != "weight_decay"} == \
                {k: v for k, v in task.resolve({}).items() if k != "weight_decay"}, (task.name, p)
            expected_seeds = [0, 1, 2, 3, 4] if is_control(p) else list(range(8))
            assert sorted(seeds) == expected_seeds, (task.name, p["weight_decay"])
            wds[p["weight_decay"]] = len(seeds)
        default, step = DESIGN.get(task.name, (None, None))
        assert task.resolve({})["weight_decay"] == default, task.name
        expected = {0.0: 5, default: 8, **({step: 8} if step is not None else {})}
        assert wds == expected, task.name
        got[task.name] = len(variants)
    assert set(got) == set(DESIGN)
    assert sum(got.values()) == 202  # docs/protocol.md: 9 x (2 x 8 + 5) + (8 + 5)


def test_the_weight_decay_step_must_be_stronger_than_the_default():
    import pytest

    from complexity_bench.tasks._common import full_design

    assert full_design(0.1, 0.3) == [{"weight_decay": 0.1}, {"weight_decay": 0.3}, {"weight_decay": 0.0}]
    for default, step in ((0.3, 0.1), (0.2, 0.2), (0.0, 0.1)):
        with pytest.raises(ValueError, match="stronger"):
            full_design(default, step)


def test_full_suite_keeps_one_budget_and_stop_rule_per_task():
    for name in DESIGN:
        task = TASKS.get(name)
        budgets = {tuple(v.param_dict[k] for k in BUDGET_PARAMS) for v in task.variants("full")}
        assert budgets == {tuple(task.defaults[k] for k in BUDGET_PARAMS)}, name


def test_power_operations_stay_out_of_full():
    """docs/protocol.md, "Power and the suite design": left out by cost, before any run."""
    for op in ("modsub", "moddiv", "modsumsq", "modcubexy"):
        assert not TASKS.get(f"{op}-mlp").variants("full")


def test_control_seeds_are_the_first_of_the_suite_seeds_elsewhere_all():
    task = TASKS.get("modadd-mlp")
    assert task.control_seeds("full") == task.seeds("full")[:5]
    for suite in ("default", "operations", "gpu", "long", "smoke"):
        assert task.control_seeds(suite) == task.seeds(suite)
