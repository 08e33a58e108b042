"""A question card shows each camera apart, in real headless Chromium: one row per camera
with that camera's latest answer, keyframes and timeline (a card mixing them showed the
yard's frames under "a red circle" because the yard answered last), the live stream
updates the right row, a card of many cameras shows the yes cameras and a few more
behind "show all", and a question longer than the API takes is refused with both
lengths instead of being cut mid-word by the input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.store import Store
from pipeline.questions import QUESTION_MAX
from pipeline.types import Answer, Evidence
from tests.e2e.dashboard import need_chromium, serve, signed_in
from tests.e2e.test_dashboard_browser import BOX, T0, keyframe, stored_answer
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness

pytest.importorskip("playwright.sync_api")
QUESTION = "is a red circle on the floor?"
ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard-card-cameras.png"


def on(camera: str, end: float, matched: bool, text: str, width: int) -> Answer:
    """An answer of ``camera``; its keyframes are ``width`` px wide, so a row's images
    tell which camera they came from."""
    a = stored_answer("q", QUESTION, end, matched, text)
    frames = tuple(Evidence(t=e.t, jpeg=keyframe(0, (width, 160)), box=BOX) for e in a.evidence)
    return replace(a, camera=camera, evidence=frames)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    yield from serve(ApiHarness(Store.from_url(f"sqlite:///{tmp_path / 'cams.db'}"),
                                api={"sse_poll_s": 0.3}))


def _question(h: ApiHarness, cameras: list[str]) -> str:
    for cam in cameras:
        h.store.upsert_camera(cam, f"rtsp://cams/{cam}")
    qid = h.create(QUESTION, cameras=cameras, every=2, window=4)["id"]
    return str(qid)


def _widths(pg: object, qid: str, camera: str) -> list[int]:
    return pg.evaluate(  # type: ignore[attr-defined,no-any-return]
        "([q, c]) => [...document.querySelectorAll(`article[data-query-id='${q}'] .cam-row`)]"
        ".filter((r) => r.dataset.camera === c)"
        ".flatMap((r) => [...r.querySelectorAll('img.keyframe')]).map((i) => i.naturalWidth)",
        [qid, camera])


def test_each_camera_row_shows_its_own_latest_answer_and_frames(served) -> None:
    h, url = served
    qid = _question(h, ["dock", "yard"])
    dock = [on("dock", T0 + 4 + 2 * i, i == 3, f"dock {i}", 224) for i in range(4)]
    yard = [on("yard", T0 + 20 + 2 * i, False, f"yard {i}", 160) for i in range(6)]
    h.store.insert_answers([replace(a, query_id=qid) for a in dock + yard])
    with signed_in(url, READ, viewport={"width": 1280, "height": 900}) as pg:
        card = pg.locator(f"article.card[data-query-id='{qid}']")
        rows = card.locator(".cam-row")
        rows.nth(1).locator(".timeline .win").first.wait_for(timeout=8000)
        assert [rows.nth(i).get_attribute("data-camera") for i in range(2)] == ["dock", "yard"]
        row = {c: card.locator(f".cam-row[data-camera='{c}']") for c in ("dock", "yard")}
        assert row["dock"].locator(".answer-text").inner_text() == "dock 3"  # yes: first
        assert row["dock"].locator(".badge").inner_text() == "match"
        assert row["yard"].locator(".answer-text").inner_text() == "yard 5"
        assert row["dock"].locator(".timeline .win").count() == 4
        assert row["yard"].locator(".timeline .win").count() == 6
        pg.wait_for_function(
            "([q]) => [...document.querySelectorAll(`article[data-query-id='${q}'] img.keyframe`)]"
            ".filter((i) => i.complete && i.naturalWidth > 0).length === 6", arg=[qid],
            timeout=8000)
        assert _widths(pg, qid, "dock") == [224] * 3 and _widths(pg, qid, "yard") == [160] * 3

        # the live stream updates the dock's row only; the yard keeps its own answer
        h.store.insert_answers([replace(on("dock", T0 + 60, False, "dock now clear", 224),
                                        query_id=qid)])
        h.notifier.notify()
        row["dock"].locator(".answer-text", has_text="dock now clear").wait_for(timeout=8000)
        assert row["yard"].locator(".answer-text").inner_text() == "yard 5"
        assert row["dock"].locator(".timeline .win").count() == 5
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACT), full_page=True)


def test_a_card_of_many_cameras_shows_the_yes_ones_and_a_few_more(served) -> None:
    h, url = served
    cameras = [f"bay-{i:02d}" for i in range(32)]
    qid = _question(h, cameras)
    h.store.insert_answers([replace(on(c, T0 + 10, c in ("bay-20", "bay-31"), c, 96),
                                    query_id=qid) for c in cameras])
    with signed_in(url, READ, viewport={"width": 1280, "height": 900}) as pg:
        fetched: list[str] = []
        pg.on("request", lambda r: fetched.append(r.url) if "/api/queries/" in r.url else None)
        card = pg.locator(f"article.card[data-query-id='{qid}']")
        more = card.locator(".show-all")
        more.wait_for(timeout=8000)
        pg.wait_for_function("() => document.querySelector('.show-all').textContent.includes('32')")
        visible = card.locator(".cam-row:visible")
        assert visible.count() == 6
        assert [visible.nth(i).get_attribute("data-camera") for i in range(3)] == [
            "bay-20", "bay-31", "bay-00"]
        more.click()
        assert card.locator(".cam-row:visible").count() == 32
        assert more.inner_text() == "show fewer cameras"
        pg.wait_for_timeout(300)
        assert len([u for u in fetched if "/cameras" in u]) == 1  # one request for 32 rows


def test_a_question_longer_than_the_api_takes_is_refused_with_its_length(served) -> None:
    h, url = served
    h.store.upsert_camera("dock", "rtsp://cams/dock")
    long = ("is a forklift parked across the emergency exit while a pallet blocks it " * 11)[:780]
    with signed_in(url, WRITE, viewport={"width": 1280, "height": 900}) as pg:
        pg.locator("#live.on").wait_for(timeout=8000)
        pg.fill("#subscribe input[name=question]", long)
        assert len(pg.input_value("#subscribe input[name=question]")) == 780  # not cut
        pg.click("#subscribe button[type=submit]")
        pg.locator("#subscribe-error",
                   has_text=f"780 characters; at most {QUESTION_MAX}").wait_for(timeout=8000)
        assert pg.locator("#question-length", has_text="780").is_visible()
        assert h.call("GET", "/api/queries", READ).json() == []
        pg.fill("#subscribe input[name=question]", long[:QUESTION_MAX])  # at the limit: taken
        pg.click("#subscribe button[type=submit]")
        pg.locator("article.card .question").wait_for(timeout=8000)
        assert [q["question"] for q in h.call("GET", "/api/queries", READ).json()] == [
            long[:QUESTION_MAX].strip()]


def test_the_form_limit_is_the_api_limit() -> None:
    html = (Path(__file__).resolve().parents[2] / "workers/api/static/index.html").read_text()
    assert f'name="question" required data-max="{QUESTION_MAX}"' in html
    assert 'name="question" required maxlength' not in html
