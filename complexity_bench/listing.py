"""``list measures`` / ``list tasks``: a short table that fits a terminal, and one entry in full.

    python -m complexity_bench list measures          # one line per measure, <= 100 columns
    python -m complexity_bench list measures lmn      # every field of one measure, wrapped

The table keeps the fields people compare at a glance (a measure's direction,
cost, what it needs and applies to; a task's family, loss and budget); the long
ones (description, direction source, reference, task properties) are in the
one-entry form, wrapped at the terminal's width (at most
``MAX_WIDTH``; 80 when the output is not a terminal).
"""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

MAX_WIDTH = 100
SHORT_COLUMNS = {
    "measures": ("name", "direction", "cost", "needs", "applies_to", "version"),
    "tasks": ("name", "family", "loss", "steps", "version"),
}


def _rows(what: str) -> list[dict[str, Any]]:
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.contracts.task import TASKS

    if what == "measures":
        rows = []
        for m in MEASURES:
            info = m.info.as_row()
            rows.append({"name": m.name, "version": info.pop("measure_version"), **info,
                         "description": m.info.description, "reference": m.info.reference})
        return rows
    return [t.describe() for t in TASKS]


def _cell(value: Any) -> str:
    return f"{value:+d}" if isinstance(value, int) and not isinstance(value, bool) and value in (-1, 1) else str(value)


def short_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Left-aligned columns, two spaces apart, one line per row."""
    cells = [[c.replace("_", " ") for c in columns]] + [[_cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)


def details(row: dict[str, Any], width: int) -> str:
    """Every field of one entry, ``field: value``, values wrapped under a hanging indent."""
    key_width = max(len(k) for k in row) + 2
    lines = []
    for key, value in row.items():
        text = _cell(value) if value not in (None, "") else "-"
        lines.append(textwrap.fill(text, width=width, initial_indent=f"{key}:".ljust(key_width),
                                   subsequent_indent=" " * key_width, break_on_hyphens=False))
    return "\n".join(lines)


def output_width() -> int:
    """The terminal's width capped at ``MAX_WIDTH`` (80 for a pipe or a file)."""
    return min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH)


def list_text(what: str, name: str | None = None) -> str:
    """What ``list WHAT [NAME]`` prints."""
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.contracts.task import TASKS

    if name is not None:
        registry = MEASURES if what == "measures" else TASKS
        wanted = registry.get(name).name  # unknown name: a UserError with "did you mean"
        return details(next(r for r in _rows(what) if r["name"] == wanted), output_width())
    rows = _rows(what)
    one = what[:-1]
    return (short_table(rows, SHORT_COLUMNS[what])
            + f"\n\n{len(rows)} {what}; `python -m complexity_bench list {what} NAME` shows one {one} in full")
