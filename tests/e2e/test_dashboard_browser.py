"""The dashboard in real headless Chromium (Debian's, driven by Playwright).

The page loads with a token typed into its field, shows a newly stored answer without
a reload (with its keyframe image and RoI overlay), renders user text as text, and its
subscribe form and unsubscribe button change the standing queries. A screenshot is
saved to ``artifacts/dashboard.png``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from connectors.store import Store
from pipeline.types import Answer, Evidence
from tests.e2e.dashboard import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard.png"
T0 = 1_764_000_000.0
BOX = (0.45, 0.35, 0.85, 0.9)

playwright_api = pytest.importorskip("playwright.sync_api")


def keyframe(shift: int, size: tuple[int, int] = (224, 160)) -> bytes:
    """A synthetic scene (a red circle on a floor) with its RoI box drawn, as a JPEG."""
    w, h = size
    image = Image.new("RGB", size, (70, 80, 92))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, h * 0.6, w, h), fill=(120, 110, 96))
    cx, cy = int(w * 0.62) + shift, int(h * 0.6)
    draw.ellipse((cx - 22, cy - 22, cx + 22, cy + 22), fill=(220, 40, 40))
    x0, y0, x1, y1 = (int(BOX[0] * w), int(BOX[1] * h), int(BOX[2] * w), int(BOX[3] * h))
    draw.rectangle((x0, y0, x1, y1), outline=(255, 224, 102), width=2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def stored_answer(query_id: str, question: str, end: float, matched: bool, text: str) -> Answer:
    frames = (end - 3.0, end - 1.5, end - 0.5)
    return Answer(
        query_id=query_id,
        question=question,
        camera="dock",
        window_start=end - 4.0,
        window_end=end,
        evaluated_at=end + 0.2,
        answerer="clip",
        text=text,
        matched=matched,
        score=0.34 if matched else 0.11,
        frames=frames,
        rois=(BOX,) * 3,
        visual_tokens=513,
        latency_ms=18.0,
        model_ids={"clip": "shapes-demo"},
        evidence=tuple(Evidence(t=t, jpeg=keyframe(i * 12), box=BOX) for i, t in enumerate(frames)),
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    store = Store.from_url(f"sqlite:///{tmp_path / 'dash.db'}")
    yield from serve(ApiHarness(store, api={"sse_poll_s": 0.5}))


@pytest.fixture
def page(served: tuple[ApiHarness, str]) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def _seed(h: ApiHarness) -> str:
    h.store.upsert_camera("dock", "rtsp://cams/dock")
    h.store.upsert_camera("gate", "rtsp://cams/gate")
    h.registry.set_status("dock", "connected", T0)
    h.registry.saw_segment("dock", T0 + 40)
    h.registry.saw_stream("dock", codec="hevc", width=1920, height=1080, fps=25.0, gop_s=10.0)
    h.registry.set_status("gate", "stalled", T0, "no packet for 10 s")
    qid = h.create("is a red circle on the floor?", cameras=["dock"], every=2, window=4)["id"]
    h.store.insert_answers(
        [
            stored_answer(
                qid,
                "is a red circle on the floor?",
                T0 + 4 + 2 * i,
                i % 3 == 1,
                "match" if i % 3 == 1 else "no match",
            )
            for i in range(8)
        ]
    )
    h.create("<img src=x onerror=window.__xss=1>", cameras=["*"])
    return qid


def test_dashboard_live_answers_subscribe_and_unsubscribe(
    served: tuple[ApiHarness, str], page: object
) -> None:
    h, url = served
    qid = _seed(h)
    pg = page  # playwright Page
    pg.goto(url)
    pg.locator("#banner", has_text="401").wait_for(timeout=10_000)  # no token yet: refused
    pg.fill("#token", READ)  # a read token shows everything ...
    pg.click("#token-form button")
    card = pg.locator(f"article.card[data-query-id='{qid}']")
    card.locator(".timeline .win").nth(7).wait_for(timeout=10_000)  # fetched once on screen
    assert card.locator(".timeline .win").count() == 8
    pg.locator("#live.on").wait_for(timeout=10_000)
    dock = pg.locator("#cameras li.camera", has_text="dock")
    assert dock.locator(".cam-stream").inner_text() == "hevc · 1920×1080 · 25.0 fps · GOP 10.0 s"

    # XSS: the question is shown as text, never parsed as HTML
    assert pg.get_by_text("<img src=x onerror=window.__xss=1>").count() == 1
    assert pg.evaluate("window.__xss") is None

    # a newly stored answer appears without reload, with its keyframes and RoI boxes
    h.store.insert_answers(
        [
            stored_answer(
                qid, "is a red circle on the floor?", T0 + 40, True, "a red circle is on the floor"
            )
        ]
    )
    h.notifier.notify()
    card.locator(".answer-text", has_text="a red circle is on the floor").wait_for(timeout=10_000)
    assert card.locator(".badge").inner_text() == "match"
    assert card.locator(".timeline .win").count() == 9
    pg.wait_for_function(
        f"() => [...document.querySelectorAll(\"article[data-query-id='{qid}'] img.keyframe\")]"
        ".filter(i => i.complete && i.naturalWidth === 224).length === 3",
        timeout=10_000,
    )
    roi = card.locator(".roi").first.bounding_box()
    frame = card.locator(".frame").first.bounding_box()
    assert roi is not None and frame is not None
    assert abs((roi["x"] - frame["x"]) / frame["width"] - BOX[0]) < 0.03

    # ... but writes need the write token: the form is not offered, and the page says why
    pg.locator("#access-note", has_text="need a write token").wait_for(timeout=10_000)
    assert not pg.locator("#subscribe").is_visible()
    pg.fill("#token", WRITE)
    pg.click("#token-form button")
    card.wait_for(timeout=10_000)
    pg.fill("#subscribe input[name=question]", "is the gate open?")
    pg.check("#camera-choices input[value=gate]")
    pg.fill("#subscribe input[name=every]", "2")
    pg.fill("#subscribe input[name=window]", "6")
    pg.click("#subscribe button[type=submit]")
    pg.locator("article.card .question", has_text="is the gate open?").wait_for(timeout=10_000)
    created = [
        q
        for q in h.call("GET", "/api/queries", READ).json()
        if q["question"] == "is the gate open?"
    ]
    assert len(created) == 1 and (
        created[0]["cameras"],
        created[0]["every"],
        created[0]["window"],
    ) == (["gate"], 2, 6)

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACT), full_page=True)

    # an invalid subscription shows the field that is wrong
    pg.fill("#subscribe input[name=question]", "too short a window")
    pg.fill("#subscribe input[name=window]", "1")
    pg.click("#subscribe button[type=submit]")
    pg.locator("#subscribe-error", has_text="window: window (1 s) must be ≥ every (2 s)").wait_for(
        timeout=10_000
    )

    xss_card = pg.locator("article.card", has_text="<img src=x")
    xss_card.locator(".unsubscribe").click()
    xss_card.wait_for(state="detached", timeout=10_000)
    assert all("<img" not in q["question"] for q in h.call("GET", "/api/queries", READ).json())
    assert ARTIFACT.stat().st_size > 10_000
