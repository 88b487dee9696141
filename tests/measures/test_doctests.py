"""The runnable examples in the measures' docstrings are part of the tests."""

import doctest
import importlib

import pytest
import torch


@pytest.mark.parametrize("module", ["lmn", "linear_regions", "l2", "effective_rank"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"complexity_bench.measures.{module}")
    result = doctest.testmod(mod, verbose=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("module", ["lmn", "linear_regions", "l2", "effective_rank"])
def test_docstring_examples_hold_whatever_the_global_rng_state(module):
    """Examples draw from the global RNG, whose state depends on the tests run before (random order)."""
    mod = importlib.import_module(f"complexity_bench.measures.{module}")
    state = torch.random.get_rng_state()
    try:
        for seed in range(20):
            torch.manual_seed(seed)
            result = doctest.testmod(mod, verbose=False, report=False)
            assert result.failed == 0, (module, seed)
    finally:
        torch.random.set_rng_state(state)
