"""The ``random`` baseline is drawn independently per run (docs/protocol.md, "Version 3")."""

from complexity_bench.contracts.measure import MeasureContext, compute_measure, get_measure


def _value(params: dict, seed: int, step: int) -> float:
    ctx = MeasureContext(task=None, params=params, step=step, seed=seed, probe_x=None, probe_y=None, x_train=None,
                         y_train=None, x_test=None, y_test=None, init_state={})
    return compute_measure(get_measure("random"), None, ctx)


def test_two_configurations_sharing_a_seed_get_different_draws():
    a, b = _value({"weight_decay": 0.1}, 0, 100), _value({"weight_decay": 1.0}, 0, 100)
    assert a != b and 0 <= a < 1 and 0 <= b < 1
    assert _value({"weight_decay": 0.1}, 0, 100) == a  # deterministic in the run and step
