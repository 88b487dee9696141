"""The power analysis (scoring/power.py; docs/protocol.md, "Power and the suite design")."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring.power import (TaskSplit, _two_way, power, seed_cluster_weights, simulate_task,
                                            variance_split, within_config_cindex)


def _brute_within_c(x, time, event, config, w):
    """Harrell's C by enumeration over weighted pairs of runs of the same configuration."""
    num = den = 0.0
    for i, j in combinations(range(len(x)), 2):
        if config[i] != config[j]:
            continue
        for a, b in ((i, j), (j, i)):
            if event[a] and (time[a] < time[b] or (time[a] == time[b] and not event[b])):
                den += w[a] * w[b]
                num += w[a] * w[b] * (1.0 if x[a] < x[b] else 0.5 if x[a] == x[b] else 0.0)
    return num / den


def test_within_config_cindex_counts_only_pairs_of_one_configuration():
    rng = np.random.default_rng(3)
    n = 12
    config = np.repeat([0, 1, 2], 4)
    time = rng.integers(0, 5, n).astype(float) + 10 * config  # configurations far apart in delay
    x = np.round(rng.normal(size=n), 1) + 100 * config  # orders the configurations perfectly
    event = rng.random(n) < 0.7
    W = rng.integers(0, 3, (4, n)).astype(float)
    got = within_config_cindex(x, time, event, config, W)
    want = [_brute_within_c(x, time, event, config, w) for w in W]
    assert got == pytest.approx(want)


def test_two_way_components_of_an_exactly_additive_table():
    a, b = np.array([0.0, 1.0, 3.0]), np.array([0.2, -0.1, 0.0, 0.5])
    vc, vs, ve = _two_way(a[:, None] + b[None, :])
    assert ve == pytest.approx(0.0, abs=1e-12)
    assert vc == pytest.approx(np.var(a, ddof=1)) and vs == pytest.approx(np.var(b, ddof=1))


def test_variance_split_leaves_out_controls_and_reads_the_seed_effect():
    rows = []
    for c, (wd, base) in enumerate([(0.0, 2.0), (0.1, 1.0), (0.3, 0.5)]):
        for s, b in enumerate([0.0, 0.1, 0.3]):
            t_mem = 100.0
            t_gen = t_mem * 10 ** (base + b)
            rows.append({"run_id": f"r{c}{s}", "task": "t", "seed": s, "weight_decay": wd, "axes": "weight_decay",
                         "t_mem": t_mem, "t_gen": t_gen, "censored": False, "budget": 1e6})
    (split,) = variance_split(pd.DataFrame(rows))
    assert split.n_configs == 2 and split.n_seeds == 3  # the weight-decay-0 control is left out
    assert split.var_seed == pytest.approx(np.var([0.0, 0.1, 0.3], ddof=1))
    assert split.var_resid == pytest.approx(0.0, abs=1e-12) and split.seed_share_within == pytest.approx(1.0)


def test_simulated_measure_has_the_target_within_configuration_cindex():
    # continuous delays, nothing censored: C = 1/2 + arcsin(r) / pi holds for the pairs
    # (sd of C over data sets of this size: 0.013 measured; the seed effect is shared by all configurations)
    split = TaskSplit("t", 1, 1, 0.1, 0.02, 0.01, 0.0, 0.0, 1.0, 100.0, 1e12)
    x, time, event, config, _ = simulate_task(np.random.default_rng(0), split, 4, 150, 0.65)
    assert event.all()
    assert within_config_cindex(x, time, event, config, np.ones((1, len(x))))[0] == pytest.approx(0.65, abs=0.04)
    x, time, event, config, _ = simulate_task(np.random.default_rng(0), split, 4, 150, 0.5)
    assert within_config_cindex(x, time, event, config, np.ones((1, len(x))))[0] == pytest.approx(0.5, abs=0.04)


def test_seed_cluster_weights_follow_the_seed_in_every_configuration():
    seed = np.tile(np.arange(5), 3)
    W = seed_cluster_weights(np.random.default_rng(1), seed, 20)
    assert (W.sum(axis=1) == 15).all()
    assert (W[:, :5] == W[:, 5:10]).all() and (W[:, :5] == W[:, 10:]).all()


def test_power_is_seeded_and_finds_a_strong_signal():
    splits = [TaskSplit(f"t{k}", 3, 5, 0.1, 0.01, 0.01, 0.0, 0.0, 1.0, 100.0, 1e6) for k in range(3)]
    one = power(splits, 6, 2, 0.9, n_sim=8, n_boot=100, seed=4)
    assert one == power(splits, 6, 2, 0.9, n_sim=8, n_boot=100, seed=4)
    assert one.power == 1.0 and one.mean_lower > 0.5
    null = power(splits, 6, 2, 0.5, n_sim=8, n_boot=100, seed=4)
    assert null.mean_c == pytest.approx(0.5, abs=0.05) and null.power < 0.5
