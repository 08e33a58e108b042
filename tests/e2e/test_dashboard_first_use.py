"""The dashboard as an operator first meets it, in real headless Chromium: a site of 30
cameras and 8 questions on a phone (390 px). Only the cards on screen fetch their
answers over time and their state (each camera of a card costs three requests; every
card refreshing kept one idle tab at ~90 requests a second), and nothing sticks out
past the right edge of the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from tests.e2e.dashboard import need_chromium, serve, signed_in
from tests.unit.workers.api.scenarios import READ, ApiHarness

pytest.importorskip("playwright.sync_api")
PHONE = {"width": 390, "height": 844}
CAMERAS, QUESTIONS = 30, 8


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    h = ApiHarness(Store.from_url(f"sqlite:///{tmp_path / 'site.db'}"))
    for i in range(CAMERAS):
        h.store.upsert_camera(f"loading-bay-camera-{i:02d}", f"rtsp://cams/{i}")
    for j in range(QUESTIONS):
        h.create(f"is a forklift parked across the emergency exit number {j}?", cameras=["*"])
    yield from serve(h)


def test_only_the_cards_on_screen_fetch_their_charts(site: tuple[ApiHarness, str]) -> None:
    _, url = site
    with signed_in(url, READ, viewport=PHONE) as pg:
        charts: list[str] = []
        pg.on("request", lambda r: charts.append(r.url)
              if "/api/answers/summary" in r.url or r.url.endswith("/state") else None)
        pg.locator("#queries article.card").nth(QUESTIONS - 1).wait_for(state="attached")
        pg.wait_for_timeout(2500)
        assert charts == []  # the cards are below the cameras, off screen
        first = pg.locator("#queries article.card").first
        first.scroll_into_view_if_needed()
        first.locator("section.overtime[data-loaded]").wait_for(timeout=8000)
        pg.wait_for_timeout(500)
        loaded = pg.locator("#queries section.overtime[data-loaded]").count()
        assert 1 <= loaded < QUESTIONS  # the cards near the screen, not those below
        assert pg.locator("#queries article.card").last.locator("section.overtime").count() == 0


def test_a_phone_shows_everything_within_its_width(site: tuple[ApiHarness, str]) -> None:
    _, url = site
    with signed_in(url, READ, viewport=PHONE) as pg:
        pg.locator("#cameras li.camera").nth(CAMERAS - 1).wait_for(timeout=8000)
        wide = pg.evaluate("[...document.querySelectorAll('body *')]"
                           ".filter((e) => e.getBoundingClientRect().right > innerWidth + 1)"
                           ".map((e) => `${e.tagName}.${e.className}`)")
        assert wide == []
        assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
