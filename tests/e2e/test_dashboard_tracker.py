"""The dashboard says why an answer is yes or no, in real headless Chromium: a question's
card shows each camera's tracker (absent level, the levels it turns and stays yes at, the
newest verdict's reason), the camera's answer row links to it, and its reset button
forgets the camera's levels. A screenshot
is saved to ``artifacts/dashboard_tracker.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from connectors.store.feedback import StoreStates, load_state
from pipeline.types import StandingQuery
from tests.e2e.dashboard import need_chromium, serve, signed_in
from tests.unit.connectors.clip_answers import answer, clip
from tests.unit.workers.api.scenarios import WRITE, ApiHarness
from tests.unit.workers.api.scenarios import answer as stored_answer

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard_tracker.png"

pytest.importorskip("playwright.sync_api")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    store = Store.from_url(f"sqlite:///{tmp_path / 'tracker.db'}")
    yield from serve(ApiHarness(store))


def test_the_card_explains_the_newest_answer_and_resets(served: tuple[ApiHarness, str]) -> None:
    h, url = served
    h.store.upsert_query(StandingQuery("q", "a red circle"))
    worker = clip(StoreStates(h.store))  # query "q" on camera "cam"
    for t in range(8):
        answer(worker, float(t), -0.3)
    answer(worker, 8.0, 0.4)
    h.store.insert_answers([stored_answer("q", "cam", 8.0)])  # the card's row of "cam"
    with signed_in(url, WRITE, viewport={"width": 1280, "height": 900}) as pg:
        row = pg.locator("article.card[data-query-id='q'] .tr-camera[data-camera='cam']")
        row.wait_for(timeout=15_000)
        assert row.locator(".tr-status").inner_text() == "present"
        why = row.locator(".tr-why").inner_text()
        assert why.startswith("yes: 0.400 is") and "absent level -0.300" in why
        assert "turns yes at" in row.inner_text()
        # the camera's answer row links to its tracker line
        card_row = pg.locator("article.card[data-query-id='q'] .cam-row[data-camera='cam']")
        card_row.locator(".why").click()
        pg.locator(".tr-camera.tr-focus[data-camera='cam']").wait_for(timeout=5000)
        ARTIFACT.parent.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACT), full_page=True)
        row.locator(".tr-reset").click()
        pg.locator("article.card[data-query-id='q'] .tr-note").filter(
            has_text="levels reset").wait_for(timeout=10_000)
    assert load_state(h.store, "q", "cam").samples == ()
