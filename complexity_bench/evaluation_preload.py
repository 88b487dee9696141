"""Imported once by the fork server of complexity_bench/isolation.py, and by nothing else.

Registers the built-in measures and tasks and those of installed packages' entry
points, so every evaluation child forked from the server starts with them (discovery
costs ~40 ms a child otherwise).
"""

from .measure import MEASURES
from .task import TASKS

for _registry in (MEASURES, TASKS):
    try:
        _registry.discover()
    except Exception:  # a broken entry point: each child retries and reports it in its own words
        _registry._discovered = False
