"""Debian's Chromium driven by Playwright for Python, for the tests of the HTML view.

The browser is the system package (scripts/install-browser.sh), launched headless with
`executable_path`; Playwright's own browser download is never used. A `Watched` page records
what the tests must see never happen: requests that leave `file://`, dialogs, console errors,
uncaught errors, CSP violations, and calls of the `__pwned` hook that hostile test content tries
to reach. Load the fixtures with `pytest_plugins = ["support.browser"]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
INSTALL_SCRIPT = "scripts/install-browser.sh"
SKIP_ENV = "OTEL_JSONL_SKIP_BROWSER"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_TIMEOUT_MS = 30_000

# Runs before any script of the page: records CSP violations (an attempt to run or load what the
# policy forbids) where the test can read them.
_INIT_SCRIPT = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || ''));
});
"""


@dataclass
class Watched:
    """A page and everything it did that a safe, offline page must not do."""

    page: Any
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    pwned: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path, fragment: str = "") -> None:
        """Load the page from file:// and wait until its script says it is drawn."""
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_selector("html[data-ready]", state="attached", timeout=READY_TIMEOUT_MS)

    def violations(self) -> list[str]:
        """CSP violations the page reported."""
        return list(self.page.evaluate("window.__violations || []"))

    def assert_clean(self) -> None:
        """Nothing ran, loaded or failed that should not have."""
        assert self.external == [], f"requests left file://: {self.external}"
        assert self.pwned == [], f"injected code ran: {self.pwned}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.errors == [], f"page errors: {self.errors}"
        assert self.violations() == [], f"CSP violations: {self.violations()}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module.

    Not per session: while Playwright's sync API is open, its asyncio loop counts as running
    in the main thread, and instrumentations that check for one (OpenLLMetry's ``run_async``)
    then emit their log records from another thread, without the span's context, so every
    later test of theirs would see records with no trace or span id."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run {INSTALL_SCRIPT} (or set {SKIP_ENV}=1 to skip)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch(browser: Any, **context_options: Any) -> tuple[Any, Watched]:
    """A new context and page whose every request is routed: file:// goes on, anything else
    is recorded and aborted."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    w = Watched(page)

    def route(r: Any) -> None:
        url = r.request.url
        w.requests.append(url)
        if url.startswith("file://"):
            r.continue_()
        else:
            if url not in w.external:
                w.external.append(url)
            r.abort()

    def on_request(request: Any) -> None:
        url = request.url
        if not url.startswith(("file://", "data:", "about:")) and url not in w.external:
            w.external.append(url)

    context.route("**/*", route)
    page.on("request", on_request)
    page.on("dialog", lambda d: (w.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.expose_function("__pwned", lambda what="": w.pwned.append(str(what)))
    page.add_init_script(_INIT_SCRIPT)
    return context, w


@pytest.fixture
def watched(chromium: Any) -> Iterator[Watched]:
    """A watched page in a 1280x800 window."""
    context, w = watch(chromium, viewport={"width": 1280, "height": 800})
    try:
        yield w
    finally:
        context.close()
