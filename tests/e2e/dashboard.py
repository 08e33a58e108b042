"""The dashboard served for headless Chromium: shared by the dashboard end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.unit.workers.api.scenarios import ApiHarness
from workers.api import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skips the test where the Chromium binary is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (tests/services/install_system_deps.sh installs it)")


def serve(harness: ApiHarness) -> Iterator[tuple[ApiHarness, str]]:
    """For a fixture to ``yield from``: the harness and the URL its app is served on; the
    server is stopped and the store closed after the test."""
    server = serve_in_thread(harness.app)
    yield harness, server.url
    server.stop()
    harness.store.close()


@contextmanager
def signed_in(url: str, token: str, **page: Any) -> Iterator[Any]:
    """A headless Chromium page on the dashboard at ``url``, the API token entered;
    ``page`` goes to ``new_page`` (viewport, timezone_id). The browser closes after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(**page)
            pg.goto(url)
            pg.fill("#token", token)
            pg.click("#token-form button")
            yield pg
        finally:
            browser.close()
