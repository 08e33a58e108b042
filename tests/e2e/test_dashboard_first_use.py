"""The dashboard as an operator first meets it, in real headless Chromium: a site of 30
cameras and 8 questions on a phone (390 px). Only the cards on screen fetch their
answers over time and their state (each camera of a card costs three requests; every
card refreshing kept one idle tab at ~90 requests a second), nothing sticks out past
the right edge of the screen, a read token is shown no write action it cannot take, and
an API that stops answering is named on the page with what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from tests.e2e.dashboard import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve, signed_in
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness
from workers.api import serve_in_thread

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
              if "/api/answers/summary" in r.url or r.url.endswith("/state")
              or "/cameras?" in r.url else None)
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
        rows = [u for u in charts if "/cameras?" in u]  # one request per card's rows
        assert 1 <= len(rows) < QUESTIONS and len(rows) == len(set(rows))


def test_a_phone_shows_everything_within_its_width(site: tuple[ApiHarness, str]) -> None:
    _, url = site
    with signed_in(url, WRITE, viewport=PHONE) as pg:
        pg.locator("#cameras li.camera").nth(CAMERAS - 1).wait_for(timeout=8000)
        wide = pg.evaluate("[...document.querySelectorAll('body *')]"
                           ".filter((e) => e.getBoundingClientRect().right > innerWidth + 1)"
                           ".map((e) => `${e.tagName}.${e.className}`)")
        assert wide == []
        assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        box = pg.locator("#camera-choices input[type=checkbox]").first.bounding_box()
        assert box is not None and box["width"] < 30  # a checkbox, not a stretched field


def test_a_read_token_gets_no_write_actions_and_is_told_why(
        site: tuple[ApiHarness, str]) -> None:
    _, url = site
    with signed_in(url, READ, viewport=PHONE) as pg:
        pg.locator("#access-note", has_text="can only read").wait_for(timeout=8000)
        card = pg.locator("#queries article.card").first
        card.wait_for()
        assert not pg.locator("#subscribe").is_visible()
        assert not card.locator(".unsubscribe").is_visible()
        assert not card.locator(".feedback .wrong").is_visible()
        pg.fill("#token", WRITE)
        pg.click("#token-form button")
        pg.locator("#subscribe").wait_for(state="visible", timeout=8000)
        assert pg.inner_text("#access-note") == ""
        assert card.locator(".unsubscribe").is_visible()


def test_an_api_that_stops_answering_is_named_with_what_to_do(tmp_path: Path) -> None:
    need_chromium()
    h = ApiHarness(Store.from_url(f"sqlite:///{tmp_path / 'down.db'}"))
    server = serve_in_thread(h.app)
    try:
        with signed_in(server.url, WRITE) as pg:
            pg.locator("#live.on").wait_for(timeout=8000)
            server.stop()
            offline = pg.locator("#offline")
            offline.wait_for(state="visible", timeout=8000)
            assert "does not answer since" in offline.inner_text()
            pg.locator("#live.off").wait_for(timeout=5000)
            pg.fill("#subscribe input[name=question]", "is the gate open?")
            pg.click("#subscribe button[type=submit]")
            error = pg.locator("#subscribe-error")
            error.filter(has_text="does not answer").wait_for(timeout=5000)
    finally:
        server.stop()
        h.store.close()


def test_a_question_asked_again_names_the_one_already_there(tmp_path: Path) -> None:
    need_chromium()
    h = ApiHarness(Store.from_url(f"sqlite:///{tmp_path / 'dup.db'}"))
    first = h.create("is the dock door open?", cameras=["*"], every=1, window=4)
    server = serve_in_thread(h.app)
    try:
        with signed_in(server.url, WRITE) as pg:
            pg.locator(f"article.card[data-query-id='{first['id']}']").wait_for(timeout=8000)
            pg.fill("#subscribe input[name=question]", " Is the dock door open?")
            pg.click("#subscribe button[type=submit]")
            error = pg.locator("#subscribe-error", has_text="already subscribed")
            error.wait_for(timeout=5000)
            assert first["id"] in error.inner_text()
            pg.fill("#subscribe input[name=every]", "2")  # another cadence is another query
            pg.click("#subscribe button[type=submit]")
            pg.locator("#queries article.card").nth(1).wait_for(timeout=5000)
        assert len(h.call("GET", "/api/queries", READ).json()) == 2
    finally:
        server.stop()
        h.store.close()


def test_a_page_opened_again_logs_no_error(site: tuple[ApiHarness, str]) -> None:
    """With the token kept from last time, loading the page logs nothing (it logged a
    404 for /favicon.ico on every load)."""
    from playwright.sync_api import sync_playwright

    _, url = site
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page()
            pg.add_init_script(f"localStorage.setItem('feedwatch.token', '{READ}')")
            errors: list[str] = []
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.goto(url)
            pg.locator("#live.on").wait_for(timeout=8000)
            pg.wait_for_timeout(1000)
            assert errors == []
        finally:
            browser.close()
