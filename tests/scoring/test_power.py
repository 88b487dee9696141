"""The power analysis (scoring/power.py; docs/protocol.md, "Power and the suite design")."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from complexity_bench.scoring.conditional import forecast_cindex
from complexity_bench.scoring.power import TaskSplit, _two_way, power, simulate_task, variance_split


def _brute_within_c(x, end, censored, config, w):
    """cf_cindex by enumeration over weighted pairs of runs of the same configuration."""
    num = den = 0.0
    for i, j in combinations(range(len(x)), 2):
        if config[i] != config[j]:
            continue
        for a, b in ((i, j), (j, i)):
            if not censored[a] and (end[a] < end[b] or (end[a] == end[b] and censored[b])):
                den += w[a] * w[b]
                num += w[a] * w[b] * (1.0 if x[a] < x[b] else 0.5 if x[a] == x[b] else 0.0)
    return num / den


def test_forecast_cindex_counts_only_pairs_of_one_configuration():
    rng = np.random.default_rng(3)
    n = 12
    config = np.repeat([0, 1, 2], 4)
    end = rng.integers(0, 5, n).astype(float) + 10 * config  # configurations far apart in T_gen
    x = np.round(rng.normal(size=n), 1) + 100 * config  # orders the configurations perfectly
    censored = rng.random(n) > 0.7
    W = rng.integers(0, 3, (4, n)).astype(float)
    got = forecast_cindex(x, end, censored, config, W)
    want = [_brute_within_c(x, end, censored, config, w) for w in W]
    assert got == pytest.approx(want)


def test_two_way_components_of_an_exactly_additive_table():
    a, b = np.array([0.0, 1.0, 3.0]), np.array([0.2, -0.1, 0.0, 0.5])
    vc, vs, ve = _two_way(a[:, None] + b[None, :])
    assert ve == pytest.approx(0.0, abs=1e-12)
    assert vc == pytest.approx(np.var(a, ddof=1)) and vs == pytest.approx(np.var(b, ddof=1))


def test_variance_split_leaves_out_controls_and_reads_the_seed_effect_of_t_gen():
    # the headline's target is T_gen: T_mem moves with the seed here while T_gen does not, so the
    # target has no seed effect (the delay log10(T_gen / T_mem) would have one)
    rows = []
    for c, (wd, base) in enumerate([(0.0, 2.0), (0.1, 1.0), (0.3, 0.5)]):
        for s, b in enumerate([0.0, 0.1, 0.3]):
            rows.append({"run_id": f"r{c}{s}", "task": "t", "seed": s, "weight_decay": wd, "axes": "weight_decay",
                         "t_mem": 100.0 * 10 ** b, "t_gen": 1000.0 * 10 ** base, "censored": False, "budget": 1e6})
    (split,) = variance_split(pd.DataFrame(rows))
    assert split.n_configs == 2 and split.n_seeds == 3  # the weight-decay-0 control is left out
    assert split.var_seed == pytest.approx(0.0, abs=1e-12) and split.var_resid == pytest.approx(0.0, abs=1e-12)
    assert split.var_config == pytest.approx(np.var([4.0, 3.5], ddof=1))
    assert split.mean_log_tgen == pytest.approx(3.75)
    for r in rows:  # now T_gen carries the seed effect
        r["t_gen"] = r["t_gen"] * r["t_mem"] / 100.0
    (split,) = variance_split(pd.DataFrame(rows))
    assert split.var_seed == pytest.approx(np.var([0.0, 0.1, 0.3], ddof=1))
    assert split.seed_share_within == pytest.approx(1.0)


def test_simulated_measure_has_the_target_within_configuration_cindex():
    # continuous T_gen, nothing censored: C = 1/2 + arcsin(r) / pi holds for the pairs
    # (sd of C over data sets of this size: 0.013 measured; the seed effect is shared by all configurations)
    split = TaskSplit("t", 1, 1, 0.1, 0.02, 0.01, 0.0, 0.0, 3.0, 1e12)
    x, end, censored, config, _ = simulate_task(np.random.default_rng(0), split, 4, 150, 0.65)
    assert not censored.any()
    assert forecast_cindex(x, end, censored, config, np.ones((1, len(x))))[0] == pytest.approx(0.65, abs=0.04)
    x, end, censored, config, _ = simulate_task(np.random.default_rng(0), split, 4, 150, 0.5)
    assert forecast_cindex(x, end, censored, config, np.ones((1, len(x))))[0] == pytest.approx(0.5, abs=0.04)


def test_power_uses_the_headline_crossed_bootstrap():
    # the replicates are production's crossed weights u_config * v_seed: configurations are drawn
    # too, so some replicate weighs one configuration's runs differently from another's
    seen = []

    def spy(x, end, censored, config, W):
        seen.append((config, W))
        return forecast_cindex(x, end, censored, config, W)

    split = TaskSplit("t", 3, 5, 0.1, 0.01, 0.01, 0.0, 0.0, 3.0, 1e6)
    power([split], 4, 3, 0.65, n_sim=1, n_boot=50, seed=2, statistic=spy)
    (config, W), = seen
    assert (W[0] == 1).all()  # row 0: the point estimate
    reps = W[1:]
    assert (reps.sum(axis=1) == 12).all()  # 3 configurations x 4 seeds drawn
    by_config = reps.reshape(len(reps), 3, 4)
    assert (by_config[:, 0, :] != by_config[:, 1, :]).any()
    seed_w = by_config.sum(axis=1)  # a rank-one table: each run's weight is u_c * v_s
    config_w = by_config.sum(axis=2)
    assert by_config * 12 == pytest.approx(config_w[:, :, None] * seed_w[:, None, :])


def test_power_is_seeded_and_finds_a_strong_signal():
    splits = [TaskSplit(f"t{k}", 3, 5, 0.1, 0.01, 0.01, 0.0, 0.0, 3.0, 1e6) for k in range(3)]
    one = power(splits, 6, 2, 0.9, n_sim=8, n_boot=100, seed=4)
    assert one == power(splits, 6, 2, 0.9, n_sim=8, n_boot=100, seed=4)
    assert one.power == 1.0 and one.mean_lower > 0.5
    null = power(splits, 6, 2, 0.5, n_sim=8, n_boot=100, seed=4)
    assert null.mean_c == pytest.approx(0.5, abs=0.05) and null.power < 0.5


def test_a_task_without_a_comparable_pair_is_not_eligible():
    # every T_gen read at the one evaluation step: no pair has a known order on that task, so
    # no measure is defined there and, as in the leaderboard, the task leaves the mean
    good = [TaskSplit(f"t{k}", 3, 5, 0.1, 0.01, 0.01, 0.0, 0.0, 3.0, 1e6) for k in range(3)]
    tied = TaskSplit("tied", 3, 5, 0.1, 0.01, 0.01, 0.0, 0.0, 3.0, 1e6, grid=(10 ** 6,))
    assert power([*good, tied], 6, 2, 0.9, n_sim=4, n_boot=100, seed=4).power == 1.0
