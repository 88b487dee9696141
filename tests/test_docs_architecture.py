"""docs/architecture.md's table of parts names every package of complexity_bench/."""

import re
from pathlib import Path

import complexity_bench

ROOT = Path(complexity_bench.__file__).parent
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_every_package_is_in_the_parts_table():
    packages = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| `")]
    named = {m for line in rows for m in re.findall(r"`([a-z_]+)/`", line.split("|")[1])}
    assert packages and set(packages) <= named, sorted(set(packages) - named)
