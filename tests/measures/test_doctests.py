"""The runnable examples in the measures' docstrings are part of the tests."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["lmn", "linear_regions", "l2", "effective_rank"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"complexity_bench.measures.{module}")
    result = doctest.testmod(mod, verbose=False)
    assert result.attempted > 0 and result.failed == 0
