"""s5-transformer (tasks/s5.py): the composition table against brute force, the group
axioms, and a short CPU run of the registered task through both engines."""

from __future__ import annotations

import itertools

import pytest
import torch

from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run
from complexity_bench.engine.vmap_cohort import train_vmap_cohort, vmap_compatible
from test_cohort import assert_same_runs


def test_labels_are_composition_apply_b_first():
    t = get_task("s5-transformer")
    d = t.make_data(t.resolve({}), seed=1)
    perms = list(itertools.permutations(range(5)))
    assert sorted(map(tuple, d.x.tolist())) == [(a, b) for a in range(120) for b in range(120)]
    for (a, b), c in zip(d.x.tolist()[::37], d.y.tolist()[::37]):  # every 37th pair: ~390 checks
        fa, fb = dict(enumerate(perms[a])), dict(enumerate(perms[b]))
        assert perms[c] == tuple(fa[fb[k]] for k in range(5))
    assert len(d.train_idx) == 7_200


def test_table_is_a_nonabelian_group():
    t = get_task("s5-transformer")
    d = t.make_data(t.resolve({}), seed=0)
    table = torch.zeros(120, 120, dtype=torch.long)
    table[d.x[:, 0], d.x[:, 1]] = d.y
    assert all(sorted(row.tolist()) == list(range(120)) for row in table)  # Latin square
    assert torch.equal(table[0], torch.arange(120)) and not torch.equal(table, table.T)
    a, b, c = (torch.randint(0, 120, (2_000,), generator=torch.Generator().manual_seed(i)) for i in range(3))
    assert torch.equal(table[table[a, b], c], table[a, table[b, c]])  # associative on 2,000 triples


def test_short_cpu_run_trains():
    task = get_task("s5-transformer")
    assert [v.param_dict["weight_decay"] for v in task.variants("gpu")] == [1.0] * 5 + [0.0] * 5
    assert not task.grid("full") and task.variants("smoke")[0].param_dict["steps"] == 4
    run = train_run(task, task.variant({"steps": 3}, 0))
    assert run.metrics["step"] == [0, 1, 2, 3] and run.metrics["train_loss"][-1] < run.metrics["train_loss"][0]


@pytest.mark.slow  # ~20 s of CPU: 14,400 pairs evaluated at every step, by both engines
def test_short_cpu_run_vmap_matches_loop():
    task = get_task("s5-transformer")
    variants = [task.variant({"steps": 6}, 0), task.variant({"steps": 6, "weight_decay": 0.0}, 1)]
    runs = assert_same_runs(task, variants, train=train_vmap_cohort, compatible=vmap_compatible,
                            engine="vmap-cohort")
    assert all(r.metrics["train_loss"][-1] < r.metrics["train_loss"][0] for r in runs)  # it trains


def test_budget_is_the_pilots_decision():
    """docs/tasks.md, "S5 composition": the seed-0 pilot, run under its rule at 45,000 steps,
    generalised, which fixed the budget at 45,000."""
    import json
    from pathlib import Path

    pilot = json.loads((Path(__file__).resolve().parents[2] / "docs" / "measurements" / "s5"
                        / "s5-transformer_pilot45k_seed0.json").read_text())
    (run,) = pilot["runs"]
    assert (pilot["task"], pilot["budget"], run["seed"], run["weight_decay"]) == ("s5-transformer", 45_000, 0, 1.0)
    assert run["t_gen"] is not None and run["t_gen"] <= pilot["budget"]
    assert get_task("s5-transformer").resolve({})["steps"] == pilot["budget"]
