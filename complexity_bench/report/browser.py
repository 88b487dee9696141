"""Open a report in headless Chromium (the system's ``chromium``) through Playwright.

Used by tests/test_report_browser.py and scripts/report_screenshot.py. Needs
``pip install -e '.[test]'`` (Playwright's Python package; it downloads no
browser) and Debian's ``chromium`` (``.ci/run`` installs it). Every request
other than the page itself is recorded (and refused), as are console errors
and uncaught exceptions, so a test can assert the page is self-contained.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

# Flags for a machine without network: no background fetches, updates or sync,
# so nothing but the page itself is requested.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    """Path of the system Chromium, or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLog:
    requests: list[str] = field(default_factory=list)  # every URL except the report's own
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@contextmanager
def open_report(path: Path, width: int = 1400, height: int = 900) -> Iterator[tuple[object, PageLog]]:
    """Yield (playwright Page, PageLog) with the report loaded and its script finished."""
    from playwright.sync_api import sync_playwright

    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install -y chromium)")
    url = Path(path).resolve().as_uri()
    log = PageLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})

            own = lambda u: u.split("#")[0] == url  # noqa: E731
            page.on("request", lambda r: None if own(r.url) else log.requests.append(r.url))
            page.route("**/*", lambda r: r.continue_() if own(r.request.url) else r.abort())
            page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: log.page_errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            yield page, log
        finally:
            browser.close()
