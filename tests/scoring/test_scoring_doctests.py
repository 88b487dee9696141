"""The runnable examples in the scoring docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ["stats", "bootstrap", "prepare", "tracking", "early_warning", "forecast", "granulated",
           "leaderboard", "score", "synthetic"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"complexity_bench.scoring.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
