"""Screenshots of a results folder's report.html, for the README and reviewers.

    python scripts/report_screenshot.py results docs/figures/report_screenshot.png [--task modadd-mlp --measure lmn]

Writes the cross-task view (and, with --task, that task's training-curves card
beside it as <name>_<task>.png), after checking the page loaded with no console error and no
network request. Needs Debian's chromium and `pip install -e '.[test]'`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from complexity_bench.report import REPORT_NAME, write_report
from complexity_bench.report.browser import open_report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path)
    ap.add_argument("out", type=Path, help="PNG path of the cross-task view")
    ap.add_argument("--task", action="append", default=[], help="also shoot this task's view (repeatable)")
    ap.add_argument("--measure", help="the measure shown in the task views' figures (default: the first listed)")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1100, help="viewport height; the shot is of the viewport")
    ap.add_argument("--full", action="store_true", help="the whole page instead of the viewport")
    ap.add_argument("--rewrite", action="store_true", help="write report.html first")
    args = ap.parse_args(argv)
    report = write_report(args.results_dir) if args.rewrite else args.results_dir / REPORT_NAME
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open_report(report, args.width, args.height) as (page, log):
        page.screenshot(path=str(args.out), full_page=args.full)
        print(args.out)
        for task in args.task:
            view = f'section.view[data-view="{task}"]'
            page.click(f'nav .tab[data-view="{task}"]')
            page.wait_for_selector(f"{view} .plot .main-svg", timeout=30_000)
            if args.measure:
                page.select_option(f"{view} select.measure", args.measure)
            page.wait_for_timeout(300)
            shot = args.out.with_name(f"{args.out.stem}_{task}{args.out.suffix}")
            if args.full:
                page.screenshot(path=str(shot), full_page=True)
            else:
                page.locator(f'{view} .card:has(.plot[data-kind="curves"])').screenshot(path=str(shot))
            print(shot)
        problems = log.requests + log.console_errors + log.page_errors
    if problems:
        print("problems:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
