"""Importing an optional extra's package, with one line naming the extra when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from complexity_bench.errors import UserError


def require(module: str, extra: str) -> ModuleType:
    """``import module``; a UserError saying ``pip install 'complexity_bench[extra]'`` when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"{module} is not installed: pip install 'complexity_bench[{extra}]' ({exc})") from exc
