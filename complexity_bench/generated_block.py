"""A README block generated from a results folder: replace it in place, or print it.

``findings.py`` (the leaderboard and its sentences) and ``claims.py`` (the LMN paper's
claims) each own one block between their own start and end markers; a test per block
regenerates it and fails when the README's copy differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

import pandas as pd

from complexity_bench.errors import UserError


def fmt_interval(v: float | None, lo: float | None, hi: float | None, digits: int = 2) -> str:
    """``v [lo, hi]``; ``v`` alone without an interval; ``n/a`` without a value."""
    if v is None or pd.isna(v):
        return "n/a"
    if lo is None or pd.isna(lo):
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def replace_block(text: str, block: str, start: str, end: str) -> str:
    """``text`` with the span from ``start`` to ``end`` (markers included) replaced by ``block``."""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise UserError(f"no block marked {start!r} (markers missing)")
    return pattern.sub(lambda _: block, text)


def block_main(description: str, render: Callable[[Path], str], start: str, end: str,
               argv: list[str] | None = None, targets: tuple[Path, ...] = (Path("README.md"),)) -> int:
    """``python -m <module> RESULTS [--readme [PATH]]``: print the block, or write it into PATH (default: every
    file of ``targets``, each of which must already hold the markers)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("results", type=Path)
    p.add_argument("--readme", type=Path, nargs="?", const=targets, default=None,
                   help=f"write the block into this file (default: {', '.join(map(str, targets))})")
    args = p.parse_args(argv)
    try:
        block = render(args.results)
        if args.readme is None:
            print(block)
            return 0
        files = args.readme if isinstance(args.readme, tuple) else (args.readme,)
        texts = {f: _with_block(f, block, start, end) for f in files}  # every file checked before any is written
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for f, text in texts.items():
        f.write_text(text)
    return 0


def _with_block(path: Path, block: str, start: str, end: str) -> str:
    try:
        return replace_block(path.read_text(), block, start, end)
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
