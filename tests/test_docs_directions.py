"""Every direction the docs state for a measure is the one the measure declares in code.

Reads each markdown table with a "direction" column in README.md and docs/*.md;
its first column names measures (in backticks; sub-measures in parentheses are
left out), and the direction cell holds one sign for all of them or one per name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from complexity_bench.contracts.measure import MEASURES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SIGN = re.compile(r"^\s*([+\-−])\s*1\b")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def stated_directions(text: str) -> list[tuple[str, int, str]]:
    """(measure, direction, the table row) for every measure a direction table names."""
    out, column = [], None
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            column = None
            continue
        cells = _cells(line)
        if column is None:
            column = next((i for i, c in enumerate(cells) if c.lower() == "direction"), -1)
            continue
        if column < 0 or set(cells[0]) <= set("-: ") or column >= len(cells):
            continue
        names = [n for n in re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[0])) if n in MEASURES]
        signs = [(-1 if s in "-−" else 1) for s in re.findall(r"([+\-−])\s*1\b", cells[column])]
        first = SIGN.match(cells[column])
        if not names or not first:
            continue
        if len(signs) != len(names):
            signs = [signs[0]] * len(names)
        out += [(n, d, line.strip()) for n, d in zip(names, signs)]
    return out


def test_the_parser_reads_one_sign_per_name_or_one_for_all():
    table = "| name | what | direction |\n|---|---|---|\n| `step`, `l2` (`x`) | w | −1, +1 |\n| `lmn`, `l2` | w | +1 |\n"
    assert [(n, d) for n, d, _ in stated_directions(table)] == [("step", -1), ("l2", 1), ("lmn", 1), ("l2", 1)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_stated_direction_is_the_declared_one(doc):
    wrong = [f"{name}: {doc.name} says {d:+d}, the code declares {MEASURES.get(name).info.direction:+d} ({row})"
             for name, d, row in stated_directions(doc.read_text()) if d != MEASURES.get(name).info.direction]
    assert not wrong, "\n".join(wrong)


def test_the_readme_table_states_a_direction_for_every_measure():
    stated = {name for name, _, _ in stated_directions((ROOT / "README.md").read_text())}
    assert set(MEASURES.names()) <= stated, sorted(set(MEASURES.names()) - stated)
