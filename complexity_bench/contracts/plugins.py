"""Loading ``--plugin`` files into both registries (in the main process and in every worker)."""

from __future__ import annotations

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.contracts.registry import load_plugin_file
from complexity_bench.contracts.task import TASKS


def load_plugins(paths: tuple[str, ...] | list[str]) -> list[str]:
    """Import each file; returns the names they registered."""
    names: list[str] = []
    for path in paths:
        names += load_plugin_file(path, [MEASURES, TASKS])
    return names
