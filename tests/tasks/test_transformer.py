"""modadd-transformer: the model is Nanda et al.'s one-layer transformer, and the measures apply.

Fast checks use a tiny copy of the task (p = 7, d_model 16); the grokking demonstration
of the registered task is behind ``-m slow`` (minutes).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.contracts.measure import MEASURES
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run
from complexity_bench.tasks._transformer_stages import AttentionAtLast, OperandsThenEquals, ResidualMLP
from complexity_bench.measures.fourier_sparsity import embedding_table
from complexity_bench.measures.linear_regions import count_regions_batch
from complexity_bench.measures.lmn import linear_mapping_number, model_lmn
from test_cohort import register  # noqa: F401 (fixture; tests/ is on the path)
from test_vmap_cohort import TinyTransformer


def tiny_model(seed: int = 0, p: int = 7, d: int = 16, heads: int = 2):
    task = get_task("modadd-transformer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        from complexity_bench.contracts.models import StagedModel
        from complexity_bench.tasks._transformer_stages import unembedding

        model = StagedModel([OperandsThenEquals(p, d), AttentionAtLast(d, heads), ResidualMLP(d, 2 * d),
                             unembedding(d, p)], input_stage=2, hidden_stage=3)
    return task, model


def full_sequence_logits(model, x: torch.Tensor) -> torch.Tensor:
    """Nanda et al.'s forward written out for every position: causal attention at all three
    positions, the MLP at all three, logits read at the last. The task's model computes
    only the "=" row; this must give the same logits."""
    emb, attn, mlp, unembed = model.stages
    h = emb(x)  # (n, 3, d)
    n, t, d = h.shape
    heads = attn.heads
    dh = d // heads
    q = attn.query(h).view(n, t, heads, dh).transpose(1, 2)
    k = attn.key(h).view(n, t, heads, dh).transpose(1, 2)
    v = attn.value(h).view(n, t, heads, dh).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), -math.inf)
    z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
    resid = h + attn.out(z)
    resid = resid + mlp.fc_out(torch.relu(mlp.fc_in(resid)))
    return unembed(resid)[:, -1]


def test_equals_row_only_is_the_full_transformer():
    _, model = tiny_model()
    x = torch.cartesian_prod(torch.arange(7), torch.arange(7))
    torch.testing.assert_close(model(x), full_sequence_logits(model, x), rtol=1e-5, atol=1e-6)


def test_registered_task_shape_and_cut():
    task = get_task("modadd-transformer")
    params = task.resolve({})
    model = task.make_model(params, 0)
    data = task.make_data(params, 0)
    assert tuple(data.x.shape) == (47 * 47, 2) and int(data.y[data.x.tolist().index([46, 2])]) == 1
    assert model(data.x[:5]).shape == (5, 47)
    # the cut: one d_model vector per input (the "=" residual stream after attention)
    acts = model.stage_outputs(data.probe_x)
    assert acts[model.input_stage - 1].shape == (task.probe_size, task.d_model)
    assert model.piecewise_linear and "piecewise_linear" in task.properties
    assert embedding_table(model).shape == (47, task.d_model), "the Fourier measure reads the p operand rows"
    recipe = task.recipe(params)
    assert (recipe.lr, recipe.weight_decay, recipe.betas, recipe.batch_size) == (1e-3, 1.0, (0.9, 0.98), None)


def test_lmn_is_measured_on_the_mlp_block_of_the_equals_position():
    _, model = tiny_model()
    x = torch.cartesian_prod(torch.arange(7), torch.arange(7))[:20]
    h = model.stage_outputs(x)[1]  # the "=" residual stream after attention
    direct = linear_mapping_number(nn.Sequential(model.stages[2], model.stages[3]), h)
    assert model_lmn(model, x) == pytest.approx(direct, rel=1e-12)
    assert direct > 1.0, "the ReLU block is not affine on these inputs"


def test_region_count_matches_the_kinks_of_the_block():
    """Brute force: walk each segment on a fine grid in float64 and count the points where
    the logits' slope changes (the block + unembedding is piecewise linear, and with
    generic weights every region boundary bends the output)."""
    _, model = tiny_model(seed=3, d=4, heads=2)
    tail = nn.Sequential(model.stages[2], model.stages[3]).double()
    gen = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(6, 4, generator=gen, dtype=torch.float64), torch.randn(6, 4, generator=gen, dtype=torch.float64)
    counts = count_regions_batch(model.tail(model.input_stage), x0, x1)
    t = torch.linspace(0, 1, 200_001, dtype=torch.float64)
    for s in range(6):
        with torch.no_grad():
            y = tail(x0[s] + t[:, None] * (x1[s] - x0[s]))
        slope = (y[1:] - y[:-1]) / (t[1] - t[0])
        bend = (slope[1:] - slope[:-1]).abs().amax(dim=1) > 1e-6 * slope.abs().max()
        # a boundary inside one grid interval bends the slope on both sides of it: count runs
        kinks = int(bend[0]) + int((bend[1:] & ~bend[:-1]).sum())
        assert counts[s] == kinks + 1, (s, int(counts[s]), kinks)


def test_every_measure_applies_or_says_why_not(register):
    """A short run of a tiny transformer, every registered measure on its checkpoints:
    no measure errors; the ones that do not apply say so through applicable()."""
    task = register(TinyTransformer)
    result = train_run(task, task.variant({"steps": 20}, seed=0))
    model = task.make_model(task.resolve({}), 0)
    MEASURES.discover()
    measures = list(MEASURES)
    not_applicable = {m.name for m in measures if not m.applicable(task, model)}
    assert not_applicable == {"path-norm", "local-complexity"}, not_applicable
    values = evaluate_run(task, result, measures)
    for name, rows in values.items():
        if name in not_applicable:
            assert rows == []
            continue
        assert rows, name
        errors = {r["error"] for r in rows if r["error"]}
        assert not errors, (name, errors)


@pytest.mark.slow
def test_canonical_setting_groks_and_wd0_does_not():
    """Seed 0 of the canonical setting memorises, then generalises long after; weight decay 0
    memorises and does not generalise within the budget (docs/tasks.md has all seeds)."""
    torch.set_num_threads(1)
    task = get_task("modadd-transformer")
    e = train_run(task, task.variant({}, seed=0)).events
    assert e.t_mem is not None and e.t_gen is not None and e.t_gen >= 5 * e.t_mem
    control = train_run(task, task.variant({"weight_decay": 0.0}, seed=0)).events
    assert control.memorised and control.censored
