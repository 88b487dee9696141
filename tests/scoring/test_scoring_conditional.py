"""The protocol-3 headline: what a measure tells within one configuration at one step
(complexity_bench.scoring.conditional; docs/protocol.md, "Version 3")."""

import math

import numpy as np
import pandas as pd
import pytest

from complexity_bench.contracts.measure import FunctionMeasure, MeasureContext, MeasureInfo, compute_measure
from complexity_bench.scoring import ScoreConfig, score
from complexity_bench.scoring.synthetic import make_synthetic

from scoring_helpers import measures_table, run_row, trace_rows


def _recipe_and_clock(model, ctx):
    """A plugin that reads only the hyperparameters and the step."""
    return 10 * float(ctx.params["weight_decay"]) + float(ctx.params["init_scale"]) \
        + (1 + float(ctx.params["weight_decay"])) * math.log1p(ctx.step)


PLUGIN = FunctionMeasure(_recipe_and_clock, MeasureInfo(name="recipe-and-clock", version="1", direction=1,
                                                        needs=frozenset()))


def _plugin_rows(runs: pd.DataFrame, traces: pd.DataFrame) -> pd.DataFrame:
    points = traces[traces.measure == "good"].copy()
    params = runs.set_index("run_id")
    values = []
    for rid, step in zip(points.run_id, points.step):
        p = params.loc[rid]
        ctx = MeasureContext(task=None, params={"weight_decay": p.weight_decay, "init_scale": p.init_scale},
                             step=int(step), seed=int(p.seed), probe_x=None, probe_y=None, x_train=None,
                             y_train=None, x_test=None, y_test=None, init_state={})
        values.append(compute_measure(PLUGIN, None, ctx))
    return points.assign(measure=PLUGIN.name, value=values)


def test_a_recipe_and_clock_plugin_is_not_credited():
    """Its value at T_mem tracks T_mem, which varies between seeds of one configuration, so the
    unconditional scores credit it; the headline leaves it undefined and unranked."""
    runs, traces, measures = make_synthetic(n_seeds=3)
    assert runs.groupby(["task", "weight_decay", "init_scale"]).t_mem.nunique().max() > 1  # the clock varies
    table = pd.concat([measures, measures_table((PLUGIN.name, 1))])
    t = score(runs, pd.concat([traces, _plugin_rows(runs, traces)]), table, ScoreConfig(n_boot=20))
    bt = t.by_task[t.by_task.measure == PLUGIN.name]
    assert bt[["headline", "cw_auroc", "cf_cindex"]].isna().all().all()
    assert bt.nan_reasons.str.contains("function of the recipe and the clock").all()
    assert np.isfinite(bt.fc_cindex).all()  # the recipe level does see it
    lb = t.leaderboard.set_index("measure")
    assert lb.loc[PLUGIN.name, "section"] == "unranked" and np.isnan(lb.loc[PLUGIN.name, "rank"])


def _one_config(t_mems, t_gens, values, budget=1e4, wd=0.1, prefix="r", steps=(0, 5, 50, 500, 5000)):
    runs, tr = [], []
    for k, (tm, tg, v) in enumerate(zip(t_mems, t_gens, values)):
        rid = f"{prefix}{k}"
        row = run_row(rid, tm, tg, budget, weight_decay=wd)
        row["seed"] = k
        runs.append(row)
        all_steps = sorted(set(steps) | {tm})
        tr.append(trace_rows(rid, "m", all_steps, [v(s) for s in all_steps]))
    return runs, tr


def test_forecast_within_a_configuration_by_brute_force():
    """cf_cindex compares seeds of one configuration at their common step, for T_gen; another
    configuration's runs are never paired with these."""
    # T_mem 40, 30, 20 (own checkpoints), common steps 0, 5, 50... -> the common step <= min T_mem is 5.
    vals = [2.0, 1.0, 3.0]
    runs, tr = _one_config([40, 30, 20], [400, 300, None], [lambda s, v=v: v if s == 5 else 99.0 for v in vals])
    # A second configuration whose values would be discordant with the first's if pooled.
    r2, t2 = _one_config([40, 40], [100, 9000], [lambda s: -50.0, lambda s: -60.0], wd=0.3, prefix="q")
    res = score(pd.DataFrame(runs + r2), pd.concat(tr + t2), measures_table(("m", 1)),
                ScoreConfig(n_boot=0, scorer_baselines=False)).by_task.set_index("measure")
    # Brute force over ordered pairs of one configuration where the first generalised first:
    # config 1: r1(300) < r0(400): x 1 < 2 conc; r1 < r2(censored): 1 < 3 conc; r0 < r2: 2 < 3 conc.
    # config 2: q0(100) < q1(9000): -50 < -60? no -> discordant.  C = 3 / 4.
    assert res.loc["m", "cf_cindex"] == pytest.approx(3 / 4)
    assert res.loc["m", "n_pairs_cf"] == 4


def test_early_warning_within_a_configuration_and_step_by_brute_force():
    # Two grokking seeds of one configuration, T_mem 10, T_gen 100 and 1000; h = 2.
    steps = [0, 10, 20, 60, 200, 600]
    fast = dict(zip(steps, [5, 5, 4, 1, 0, 0]))
    slow = dict(zip(steps, [5, 5, 3, 3, 2, 2]))
    runs = [run_row("a", 10.0, 100.0, 1e4, weight_decay=0.1), run_row("b", 10.0, 1000.0, 1e4, weight_decay=0.1)]
    runs[1]["seed"] = 1
    tr = pd.concat([trace_rows("a", "m", steps, [fast[s] for s in steps]),
                    trace_rows("b", "m", steps, [slow[s] for s in steps])])
    res = score(pd.DataFrame(runs), tr, measures_table(("m", 1)),
                ScoreConfig(n_boot=0, scorer_baselines=False)).by_task.set_index("measure")
    # Scored checkpoints: T_mem < t < T_gen. a: 20, 60 (label: 100 <= 2t -> 60 positive, 20 negative);
    # b: 20, 60, 200, 600 (1000 <= 2t: 600 positive). Pairs at one step with opposite labels:
    # step 60: a positive (1) vs b negative (3) -> concordant. Step 20: both negative. Step 600: a absent.
    assert res.loc["m", "cw_auroc"] == 1.0 and res.loc["m", "n_pairs_cw"] == 1


def test_controls_are_left_out_of_the_headline_and_answered_in_their_own_column():
    runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=3)
    cfg = ScoreConfig(n_boot=0, scorer_baselines=False)
    good = measures[measures.measure == "good"]
    base = score(runs, traces[traces.measure == "good"], good, cfg).by_task.iloc[0]
    controls = set(runs.run_id[runs.weight_decay == 0])
    moved = traces[traces.measure == "good"].copy()
    is_ctl = moved.run_id.isin(controls)
    moved.loc[is_ctl, "value"] = -moved.loc[is_ctl, "value"]  # controls now look "simplest"
    after = score(runs, moved, good, cfg).by_task.iloc[0]
    assert after.headline == base.headline and after.cw_auroc == base.cw_auroc
    assert base.ctl_auroc == 1.0 and after.ctl_auroc == 0.0  # memorised controls vs grokking runs at T_mem
    assert base.n_runs_ctl == int((runs.weight_decay == 0).sum())
