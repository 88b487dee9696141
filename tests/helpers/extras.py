"""An optional extra's package for a test: skipped without it, except under CI=true, where the
test extra installs every integration (pyproject.toml), so a missing one is a failure."""

from __future__ import annotations

import importlib
import os

import pytest


def extra(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = f"{module} is not installed (pip install -e '.[integrations]'): {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why + "; the test extra installs it, so CI must not skip this test", pytrace=False)
        pytest.skip(why, allow_module_level=True)
