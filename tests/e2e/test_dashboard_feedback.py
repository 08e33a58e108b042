"""The dashboard's ✓/✗ buttons in real headless Chromium: a click on ✗ stores the verdict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from connectors.store.feedback import feedback_for
from tests.e2e.dashboard import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve
from tests.e2e.test_dashboard_browser import T0, stored_answer
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness

playwright_api = pytest.importorskip("playwright.sync_api")
QUESTION = "is a red circle on the floor?"


@pytest.fixture
def served_feedback(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    store = Store.from_url(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield from serve(ApiHarness(store, api={"sse_poll_s": 0.5}))


def test_clicking_wrong_stores_feedback_on_the_latest_answer(
    served_feedback: tuple[ApiHarness, str],
) -> None:
    h, url = served_feedback
    h.store.upsert_camera("dock", "rtsp://cams/dock")
    qid = h.create(QUESTION, cameras=["dock"], every=2, window=4)["id"]
    h.store.insert_answers([stored_answer(qid, QUESTION, T0 + 4 + 2 * i, i == 2, "match"
                                          if i == 2 else "no match") for i in range(3)])
    latest = h.call("GET", f"/api/answers?query_id={qid}", READ).json()["items"]
    latest_id = max(latest, key=lambda a: a["window_end"])["id"]
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            pg.goto(url)
            pg.fill("#token", READ)  # a read token may look but not judge
            pg.click("#token-form button")
            card = pg.locator(f"article.card[data-query-id='{qid}']")
            card.wait_for(timeout=30_000)
            pg.locator("#access-note", has_text="need a write token").wait_for(timeout=30_000)
            assert not card.locator(".feedback .wrong").is_visible()  # not offered
            assert feedback_for(h.store) == []
            pg.fill("#token", WRITE)
            pg.click("#token-form button")
            # the cards are drawn again for the new token: click on the new one
            card.locator(".feedback .wrong").wait_for(state="visible", timeout=30_000)
            card.locator(".feedback .wrong").click()
            card.locator(".feedback-state", has_text="marked wrong").wait_for(timeout=30_000)
        finally:
            browser.close()
    (fb,) = feedback_for(h.store)
    assert (fb.answer_id, fb.query_id, fb.camera, fb.matched, fb.correct) == (
        latest_id, qid, "dock", True, False
    )
