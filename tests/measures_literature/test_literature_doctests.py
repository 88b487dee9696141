"""The runnable examples in the literature measures' docstrings are part of the tests."""

import doctest
import importlib

import pytest

MODULES = ["golechha", "margin_family", "spectral_entropy", "sharpness", "htsr", "ntk", "jacobian_alignment", "local_complexity", "llc"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    mod = importlib.import_module(f"complexity_bench.measures.{module}")
    result = doctest.testmod(mod, verbose=False)
    assert result.attempted > 0 and result.failed == 0
