"""Where ``run`` writes, and what it may replace there.

A user's run writes to ``my_results/`` (untracked: .gitignore) unless ``--out`` names
another folder; the committed reference folders (``results/``, ``results/full/``) are
written only when named. A results folder holds one leaderboard, so a run whose suite,
tasks or measures differ from the ones a folder's ``manifest.json`` records would
replace that leaderboard with another: it is refused, before anything is written,
unless ``--replace`` says so. The run store beside it is keyed by content and is
never at risk: it only gains runs and values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from complexity_bench.errors import UserError

if TYPE_CHECKING:
    from complexity_bench.pipeline.harness import Plan

DEFAULT_OUT = Path("my_results")


def selection(suite: str, tasks, measures) -> dict[str, object]:
    """What a results folder's leaderboard is of: the suite and the sorted task and measure names."""
    return {"suite": suite, "tasks": sorted(tasks), "measures": sorted(measures)}


def _describe(sel: dict) -> str:
    return f"the {sel['suite']} suite ({len(sel['tasks'])} tasks, {len(sel['measures'])} measures)"


def check_replacing(out: Path, plan: "Plan", suite: str, replace: bool) -> None:
    """A UserError when ``out`` holds the results of another selection and ``replace`` is off."""
    from complexity_bench.pipeline.results_files import read_manifest  # pandas: not on the CLI's import path

    manifest = read_manifest(out)  # {} for a new folder (or one whose first run never finished)
    if replace or not manifest:
        return
    stored = selection(manifest.get("suite"), manifest.get("tasks") or {}, manifest.get("measures") or {})
    wanted = selection(suite, plan.variants, [m.name for m in plan.measures])
    if stored == wanted:
        return
    differs = ", ".join(k for k in ("suite", "tasks", "measures") if stored[k] != wanted[k])
    raise UserError(f"{str(out)!r} holds the results of {_describe(stored)}; this run ({_describe(wanted)}; "
                    f"other {differs}) would replace them: choose another --out, or add --replace")
