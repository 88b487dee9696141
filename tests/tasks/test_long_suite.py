"""The long suite (docs/protocol.md, "The instability question"): the paper configurations
and others, >= 5 seeds, no early stop, one long budget per task."""

from complexity_bench.contracts.task import TASKS

EXPECTED = {  # task -> (weight decays, budget), as docs/protocol.md's table fixes them
    "modadd-mlp": ({0.2, 1.0}, 30_000), "xor-mlp": ({0.2}, 30_000), "s4-mlp": ({0.2, 1.0}, 60_000),
    "modadd-transformer": ({1.0}, 15_000),
}


def test_long_suite_is_the_documented_design():
    got = {}
    for task in TASKS:
        variants = task.variants("long")
        if not variants:
            continue
        assert all(v.param_dict["stop_factor"] is None for v in variants), task.name  # no early stop
        budgets = {v.param_dict["steps"] for v in variants}
        assert len(budgets) == 1, task.name
        seeds = {v.seed for v in variants}
        assert len(seeds) >= 5 and 0 not in seeds, task.name  # not the seed the budgets were read from
        got[task.name] = ({v.param_dict["weight_decay"] for v in variants}, budgets.pop())
    assert got == EXPECTED


def test_other_suites_keep_the_early_stop():
    v = TASKS.get("modadd-mlp").variants("full")[0]
    assert v.param_dict["stop_factor"] == 1.5 and v.param_dict["steps"] == 20_000


def test_every_new_suite_plans_runs_and_the_cheap_measures():
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.pipeline.harness import RunConfig, make_plan

    cheap = {m.name for m in MEASURES if m.info.cost == "cheap"}
    for suite, task in (("long", "xor-mlp"), ("operations", "modsub-mlp"), ("gpu", "s5-transformer")):
        plan = make_plan(RunConfig(tasks=task, measures="all", suite=suite))
        assert plan.variants[task] and cheap <= {m.name for m in plan.measures}, suite
