"""A README block generated from a results folder: replace it in place, or print it.

``findings.py`` (the leaderboard and its sentences) and ``claims.py`` (the LMN paper's
claims) each own one block between their own start and end markers; a test per block
regenerates it and fails when the README's copy differs.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Callable

import pandas as pd


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
        raise ValueError(f"no block marked {start!r} (markers missing)")
    return pattern.sub(lambda _: block, text)


def block_main(description: str, render: Callable[[Path], str], start: str, end: str,
               argv: list[str] | None = None) -> int:
    """``python -m <module> RESULTS [--readme [PATH]]``: print the block, or write it into the README."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("results", type=Path)
    p.add_argument("--readme", type=Path, nargs="?", const=Path("README.md"), default=None)
    args = p.parse_args(argv)
    block = render(args.results)
    if args.readme is None:
        print(block)
    else:
        args.readme.write_text(replace_block(args.readme.read_text(), block, start, end))
    return 0
