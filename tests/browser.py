"""The one headless Chromium of a test session (Debian's, driven by Playwright's sync API).

A pytest plugin (registered in ``tests/conftest.py``) so that every browser test module shares one
``browser``: Playwright's sync API runs an event loop for as long as it is open, and a second
``sync_playwright()`` in the same process fails while the first is alive.  Without Chromium the
tests are skipped on a developer's machine and fail in CI (``CI`` set), as BROWSER_TESTS.md asks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("JISHIJIU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _cannot(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


def require_chromium() -> None:
    """Skip (or, in CI, fail) when Chromium or Playwright is not there."""
    if not Path(CHROMIUM).exists():
        _cannot(f"{CHROMIUM} is missing (bash scripts/browser-deps.sh installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _cannot("the playwright package is not installed")


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure is reported the same way
            _cannot(f"chromium does not start: {exc}")
        yield chromium
        chromium.close()
