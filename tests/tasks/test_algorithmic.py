"""The paper's algorithmic tasks: labels against direct computation, splits, parameter checks."""

from __future__ import annotations

import itertools

import pytest
import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.task import get_task

ALGORITHMIC = ["modadd-mlp", "modadd-relu", "s4-mlp", "s4-relu", "xor-mlp", "xor-relu"]


def pairs_and_labels(name: str):
    t = get_task(name)
    d = t.make_data(t.resolve({}), seed=3)
    return t, d, [tuple(p) for p in d.x.tolist()], d.y.tolist()


@pytest.mark.parametrize("name", ["modadd-mlp", "modadd-relu"])
def test_modular_addition_labels(name):
    _, d, pairs, labels = pairs_and_labels(name)
    assert sorted(pairs) == [(a, b) for a in range(31) for b in range(31)]
    assert all(c == (a + b) % 31 for (a, b), c in zip(pairs, labels))


@pytest.mark.parametrize("name", ["xor-mlp", "xor-relu"])
def test_xor_labels(name):
    _, d, pairs, labels = pairs_and_labels(name)
    assert sorted(pairs) == [(a, b) for a in range(32) for b in range(32)]
    for (a, b), c in zip(pairs, labels):
        bits = [((a >> i) & 1) != ((b >> i) & 1) for i in range(5)]  # bit by bit, not via ^
        assert c == sum(1 << i for i, bit in enumerate(bits) if bit)


@pytest.mark.parametrize("name", ["s4-mlp", "s4-relu"])
def test_s4_labels_are_composition(name):
    _, d, pairs, labels = pairs_and_labels(name)
    perms = list(itertools.permutations(range(4)))
    assert sorted(pairs) == [(a, b) for a in range(24) for b in range(24)]
    for (a, b), c in zip(pairs, labels):
        # (a∘b)(k) = a(b(k)): apply b first, as a dict-based map composition
        fa, fb = dict(enumerate(perms[a])), dict(enumerate(perms[b]))
        assert perms[c] == tuple(fa[fb[k]] for k in range(4))


def test_s4_table_is_a_nonabelian_group():
    t = get_task("s4-mlp")
    d = t.make_data(t.resolve({}), 0)
    table = torch.zeros(24, 24, dtype=torch.long)
    table[d.x[:, 0], d.x[:, 1]] = d.y
    assert all(sorted(row.tolist()) == list(range(24)) for row in table)  # Latin square
    assert all(sorted(col.tolist()) == list(range(24)) for col in table.T)
    assert torch.equal(table[0], torch.arange(24))  # element 0 = identity permutation
    assert not torch.equal(table, table.T)
    a, b, c = torch.meshgrid(torch.arange(24), torch.arange(24), torch.arange(24), indexing="ij")
    assert torch.equal(table[table[a, b], c], table[a, table[b, c]])  # associative


@pytest.mark.parametrize("name,n", [("modadd-mlp", 961), ("s4-mlp", 576), ("xor-relu", 1024)])
@pytest.mark.parametrize("frac", [0.3, 0.8])
def test_split_disjoint_covering_and_sized(name, n, frac):
    t = get_task(name)
    d = t.make_data(t.resolve({"train_frac": frac}), seed=1)
    tr, te = set(d.train_idx.tolist()), set(d.test_idx.tolist())
    assert not tr & te and tr | te == set(range(n))
    assert len(tr) == int(frac * n)
    assert set(d.probe_idx.tolist()) <= set(range(n)) and len(set(d.probe_idx.tolist())) == 128


def test_paper_parameter_count():
    t = get_task("modadd-mlp")
    assert sum(p.numel() for p in t.make_model(t.resolve({}), 0).parameters()) == 20_723


def test_paper_recipe():
    t = get_task("modadd-mlp")
    r = t.recipe(t.resolve({}))
    assert (r.optimizer, r.lr, r.weight_decay, r.steps, r.batch_size) == ("adamw", 1e-3, 0.2, 20_000, None)


@pytest.mark.parametrize("frac", [0.0, 1.0, 1.5, -0.2, 0.0005])
def test_train_fraction_outside_unit_interval_is_rejected(frac):
    with pytest.raises(UserError, match="train_frac"):
        get_task("modadd-mlp").resolve({"train_frac": frac})


def test_negative_weight_decay_is_rejected_with_one_line():
    with pytest.raises(UserError) as info:
        get_task("xor-mlp").resolve({"weight_decay": -0.2})
    assert str(info.value) == "task 'xor-mlp': weight_decay=-0.2 is out of range [0.0, inf)"


def test_module_doctests():
    import doctest

    import complexity_bench.tasks._common as common
    import complexity_bench.tasks.algorithmic as algorithmic

    for mod in (algorithmic, common):
        assert doctest.testmod(mod).failed == 0


@pytest.mark.parametrize("bs", [0, -3, 2.5, "32"])
def test_bad_batch_size_is_rejected(bs):
    with pytest.raises(UserError, match="batch_size"):
        get_task("modadd-mlp").resolve({"batch_size": bs})
