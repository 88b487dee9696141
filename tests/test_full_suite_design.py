"""The full suite is the design docs/protocol.md fixes ("Power and the suite design"):
10 seeds per non-control configuration, the task default and one weight-decay step, and
a weight-decay-0 control at seeds 0-4, on every CPU task; the transformer's design
(its default only, and the control) is in the gpu suite."""

from complexity_bench.contracts.task import BUDGET_PARAMS, TASKS, is_control

# task -> (default weight decay, the one step), as docs/protocol.md's table fixes them
DESIGN = {
    "modadd-mlp": (0.2, 1.0), "modadd-relu": (0.2, 1.0), "s4-mlp": (0.2, 1.0), "s4-relu": (0.2, 1.0),
    "xor-mlp": (0.2, 1.0), "xor-relu": (0.2, 1.0), "digits-mlp": (0.1, 0.3), "teacher-student": (0.3, 1.0),
    "sparse-parity": (0.01, 0.03),
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
            expected_seeds = [0, 1, 2, 3, 4] if is_control(p) else list(range(10))
            assert sorted(seeds) == expected_seeds, (task.name, p["weight_decay"])
            wds[p["weight_decay"]] = len(seeds)
        default, step = DESIGN.get(task.name, (None, None))
        assert task.resolve({})["weight_decay"] == default, task.name
        assert wds == {0.0: 5, default: 10, step: 10}, task.name
        got[task.name] = len(variants)
    assert set(got) == set(DESIGN)
    assert sum(got.values()) == 225  # docs/protocol.md: 9 x (2 x 10 + 5)


def test_the_transformer_runs_the_full_design_in_the_gpu_suite_and_its_families_do_not():
    """docs/protocol.md, "Power and the suite design": its 15 runs cost ~2 hours of the
    2-core CPU under MKL's compatible path, so they moved to gpu; the operations and S5 on
    its net keep the gpu suite's 5 seeds."""
    task = TASKS.get("modadd-transformer")
    assert not task.variants("full")
    configs = _configs(task.variants("gpu"))
    assert {dict(p)["weight_decay"]: sorted(s) for p, s in configs.items()} == \
        {1.0: list(range(10)), 0.0: [0, 1, 2, 3, 4]}
    for name in ("modsub-transformer", "s5-transformer"):
        assert {len(s) for s in _configs(TASKS.get(name).variants("gpu")).values()} == {5}, name


def test_every_family_on_the_transformer_net_states_its_own_full_seeds():
    """``full_seeds_in`` is a class attribute, so a new family built on the transformer's net
    would inherit the full design's seeds in gpu without a word: each must state its own."""
    base = type(TASKS.get("modadd-transformer"))
    families = [type(t) for t in TASKS if isinstance(t, base) and type(t) is not base]
    assert len(families) >= 5  # the four operations and S5
    for cls in families:
        assert "full_seeds_in" in vars(cls), cls.__name__


def test_the_weight_decay_step_must_be_stronger_than_the_default():
    import pytest

    from complexity_bench.tasks._common import full_design

    assert full_design(0.1, 0.3) == [{"weight_decay": 0.1}, {"weight_decay": 0.3}, {"weight_decay": 0.0}]
    for default, step in ((0.3, 0.1), (0.2, 0.2), (0.0, 0.1)):
        with pytest.raises(ValueError, match="stronger"):
            full_design(default, step)


def test_full_suite_keeps_one_budget_and_stop_rule_per_task():
    for name in [*DESIGN, "modadd-transformer"]:
        task = TASKS.get(name)
        budgets = {tuple(v.param_dict[k] for k in BUDGET_PARAMS) for v in task.variants("full") + task.variants("gpu")}
        assert budgets == {tuple(task.defaults[k] for k in BUDGET_PARAMS)}, name


def test_power_operations_stay_out_of_full():
    """docs/protocol.md, "Power and the suite design": left out by cost, before any run."""
    for op in ("modsub", "moddiv", "modsumsq", "modcubexy"):
        assert not TASKS.get(f"{op}-mlp").variants("full")


def test_control_seeds_are_the_first_of_the_suite_seeds_elsewhere_all():
    task = TASKS.get("modadd-mlp")
    assert task.control_seeds("full") == task.seeds("full")[:5] == [0, 1, 2, 3, 4]
    for suite in ("default", "operations", "gpu", "long", "smoke"):
        assert task.control_seeds(suite) == task.seeds(suite)
