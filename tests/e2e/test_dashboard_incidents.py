"""The dashboard's incident view in real headless Chromium, over clips the clip worker
really cut: an H.264 incident's clip plays in the page (the video has current data, its
first frame decodes to the picture PyAV decodes from the same file, playback advances,
and its duration is the clip row's), the snapshot shows, and the answers timeline lists
the answers of the incident's query and camera over the clip's span. An HEVC incident
offers a download link instead of a player where this Chromium cannot play HEVC.
A screenshot is saved to ``artifacts/dashboard_incident.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.store import Store
from connectors.store.clips import ClipFiles, ClipStore
from connectors.store.models import AnswerRow
from connectors.video.ring import SegmentRing
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from tests.e2e.dashboard import need_chromium, signed_in
from tests.unit.workers.api.scenarios import READ, answer, settings
from tests.unit.workers.incident_clips.incidents import add_incident, recorded_scene
from workers.api import serve_in_thread
from workers.api.app import create_app
from workers.config import ClipsSettings, HooksSettings
from workers.incident_clips.service import ClipPolicy, ClipWorker

pytestmark = [pytest.mark.e2e]
pytest.importorskip("playwright.sync_api")

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard_incident.png"
PUBLIC = "https://alerts.example.test"  # links name another host; the page plays them locally
HOSTILE = "<img src=x onerror=window.__xss=1> is the <b>gate</b> open?"
GRID = (12, 16)  # pictures compared as a grid of mean colours
SEEK = 4.05  # clip seconds: 14 s of the scene, mid-GOP, the red circle visible


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str, ClipFiles]]:
    """An H.264 incident (12-21 s, closed; answers every second with evidence) and an
    HEVC one, both clipped by the clip worker; the API served with its clip folder."""
    need_chromium()
    root = tmp_path_factory.mktemp("incidents")
    store = Store.from_url(f"sqlite:///{root / 'inc.db'}")
    store.insert_answers([answer("q1", "cam", float(t), matched=13 <= t <= 21,
                                 text=f"answer at {t}") for t in range(4, 30)])
    with store.engine.connect() as conn:
        opener = conn.execute(select(AnswerRow.id).where(AnswerRow.window_end == 14.0)).scalar()
    ring = SegmentRing()
    for s in [*recorded_scene(root, seconds=30.0), *_hevc(root)]:
        ring.add(s)
    files = ClipFiles.from_config(root / "clips")
    worker = ClipWorker(ClipStore(store.engine), files, ring, ClipPolicy(2.0, 2.0))
    add_incident(store, "inc-h264", started=12.0, opened=14.0, answer_id=opener)
    add_incident(store, "inc-hevc", started=4.0, opened=5.0, camera="cam2", question=HOSTILE)
    assert worker.run_once(final=True) == 2  # both opening clips
    add_incident(store, "inc-h264", started=12.0, opened=14.0, closed=21.0, answer_id=opener)
    assert worker.run_once(final=True) == 1  # the closing clip covers the whole incident
    cfg = settings().model_copy(update={"clips": ClipsSettings(dir=str(root / "clips")),
                                        "hooks": HooksSettings(public_url=PUBLIC),
                                        "link_key": SecretStr("dashboard-incidents-link-key")})
    server = serve_in_thread(create_app(cfg, store))
    yield store, server.url, files
    server.stop()
    store.close()


def _hevc(root: Path) -> list[Any]:
    from tests.services import camera_clips as cc

    if not cc.has_encoder("libx265"):
        return []
    path = cc.hevc(root / "hevc.mp4", seconds=10.0, fps=12, gop_s=2.0)
    with open_source(str(path), "cam2") as src:
        return list(Segmenter.from_config("cam2").run(src))


def _grid(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[0] // GRID[0] * GRID[0], rgb.shape[1] // GRID[1] * GRID[1]
    cells = rgb[:h, :w, :3].astype(float).reshape(GRID[0], h // GRID[0], GRID[1], w // GRID[1], 3)
    return cells.mean(axis=(1, 3))


def _frames_at(path: Path, times: tuple[float, ...]) -> list[np.ndarray]:
    """PyAV's pictures of the clip at ``times`` (seconds from its first frame): for each,
    the last frame shown at or before it."""
    with av.open(str(path)) as container:
        frames = [(float(f.time or 0.0), f.to_ndarray(format="rgb24"))
                  for f in container.decode(video=0)]
    t0 = frames[0][0]
    return [[rgb for t, rgb in frames if t - t0 <= at + 1e-6][-1] for at in times]


PLAY = """async (seekTo) => {
  const v = document.querySelector('#incident-view video.inc-video');
  const within = (p, what) => Promise.race([p, new Promise((_, bad) =>
    setTimeout(() => bad(new Error(`${what}: timed out, readyState ${v.readyState}`)), 15000))]);
  if (v.readyState < 2) await within(new Promise((ok, bad) => {
    v.addEventListener('loadeddata', ok, { once: true });
    v.addEventListener('error', () => bad(new Error(`media error ${v.error && v.error.code}`)));
  }), 'loadeddata');
  const ready = v.readyState;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  const picture = () => {
    ctx.drawImage(v, 0, 0);
    return Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
  };
  const first = picture();
  const shown = await within(new Promise((ok) => {
    const seen = (now, meta) => meta.mediaTime > 1.0 ? ok(meta) : v.requestVideoFrameCallback(seen);
    v.requestVideoFrameCallback(seen);
    v.play();
  }), 'playback');
  v.pause();
  await within(new Promise((ok) => {
    v.addEventListener('seeked', ok, { once: true });
    v.currentTime = seekTo;
  }), 'seek');
  const later = picture();
  return { ready, duration: v.duration, width: c.width, height: c.height, first, later,
           presented: shown.presentedFrames, mediaTime: shown.mediaTime,
           src: v.getAttribute('src') };
}"""


def test_an_h264_incident_clip_plays_with_its_answers_timeline(served) -> None:
    store, url, files = served
    row = ClipStore(store.engine).best("inc-h264")
    assert row is not None and row.state == "ready" and row.phase == "close"
    assert row.codec == "h264"
    with signed_in(url, READ, viewport={"width": 1280, "height": 1200}) as pg:
        assert pg.evaluate("document.createElement('video').canPlayType("
                           "'video/mp4; codecs=\"avc1.42E01E\"')") != ""
        item = pg.locator("#incidents li[data-incident-id='inc-h264']")
        item.wait_for(timeout=15_000)
        pg.wait_for_function("() => { const i = document.querySelector("
                             "\"li[data-incident-id='inc-h264'] img.inc-thumb\");"
                             " return i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
        item.locator("button.inc-open").click()
        pg.locator("#incident-view video.inc-video").wait_for(timeout=10_000)
        got = pg.evaluate(PLAY, SEEK)
        assert got["src"].startswith("/links/incidents/inc-h264/clip.mp4?exp=")
        assert got["ready"] >= 2
        assert abs(got["duration"] - row.duration) <= 1.0, (got["duration"], row.duration)
        assert got["presented"] >= 2 and got["mediaTime"] > 1.0  # playback advanced
        shape = (got["height"], got["width"], 4)
        shown = [np.array(got[k], dtype=np.uint8).reshape(shape) for k in ("first", "later")]
        truth = _frames_at(files.path(str(row.file)), (0.0, SEEK))
        for picture, decoded in zip(shown, truth, strict=True):
            assert picture.shape[:2] == decoded.shape[:2]
            diff = np.abs(_grid(picture) - _grid(decoded))
            assert diff.mean() < 6 and diff.max() < 40, (diff.mean(), diff.max())
        spread = np.abs(_grid(truth[1]) - np.median(_grid(truth[1]), axis=(0, 1)))
        assert spread.max() > 40  # the red circle is in it: no flat fill would match
        view = pg.locator("#incident-view")
        assert "h264" in view.locator(".inc-clip-note").inner_text()
        pg.wait_for_function("() => { const i = document.querySelector('#incident-view "
                             "img.inc-snapshot'); return i && i.complete && i.naturalWidth > 0; }",
                             timeout=10_000)
        answers = view.locator(".inc-answers li.inc-answer")
        lo, hi = row.start, row.start + row.duration
        expected = [t for t in range(4, 30) if lo <= t <= hi]
        assert answers.count() == len(expected)
        assert view.locator(".inc-answers li.inc-answer.yes").count() == len(
            [t for t in expected if 13 <= t <= 21])
        assert view.locator(".inc-timeline .win.yes").count() == len(
            [t for t in expected if 13 <= t <= 21])
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        view.scroll_into_view_if_needed()
        pg.screenshot(path=str(ARTIFACT), full_page=True)


def test_a_clip_this_browser_cannot_play_is_offered_for_download(served) -> None:
    store, url, _ = served
    row = ClipStore(store.engine).best("inc-hevc")
    if row is None or row.state != "ready":
        pytest.skip("this ffmpeg has no libx265 encoder: no HEVC clip to offer")
    assert row.codec == "hevc"
    with signed_in(url, READ) as pg:
        item = pg.locator("#incidents li[data-incident-id='inc-hevc']")
        item.wait_for(timeout=15_000)
        assert item.locator(".inc-q").inner_text() == HOSTILE  # markup stays text
        item.locator("button.inc-open").click()
        view = pg.locator("#incident-view")
        view.locator(".inc-player > *").first.wait_for(timeout=10_000)
        plays = pg.evaluate("document.createElement('video').canPlayType("
                            "'video/mp4; codecs=\"hvc1.1.6.L93.B0\"')")
        assert view.locator("h3.inc-question").inner_text() == HOSTILE
        assert pg.evaluate("window.__xss") is None
        if plays:  # a Chromium with an HEVC decoder gets the player
            assert view.locator("video.inc-video").count() == 1
            return
        assert view.locator("video").count() == 0
        assert "cannot play hevc" in view.locator(".inc-cannot").inner_text()
        href = view.locator("a.inc-download").get_attribute("href")
        assert href is not None and href.startswith("/links/incidents/inc-hevc/clip.mp4?exp=")
        fetched = pg.evaluate("async (h) => { const r = await fetch(h); const b = await "
                              "r.arrayBuffer(); return [r.status, r.headers.get('content-type'),"
                              " b.byteLength]; }", href)
        assert fetched == [200, "video/mp4", row.bytes]


def test_without_a_link_key_the_page_says_so_and_requests_no_null_link(served) -> None:
    """An API with no link key (``feedwatch run --serve`` by default) hands out no signed
    links: the page says why the clip cannot play and offers it through the token-checked
    route; it requested ``/null`` and blamed the browser's codec support before."""
    store, _, files = served
    cfg = settings().model_copy(update={"clips": ClipsSettings(dir=str(files.root))})
    server = serve_in_thread(create_app(cfg, store))
    try:
        with signed_in(server.url, READ, viewport={"width": 1280, "height": 1200}) as pg:
            asked: list[str] = []
            pg.on("request", lambda r: asked.append(r.url))
            item = pg.locator("#incidents li[data-incident-id='inc-h264']")
            item.wait_for(timeout=15_000)
            item.locator("button.inc-open").click()
            view = pg.locator("#incident-view")
            view.locator(".inc-no-links").wait_for(timeout=10_000)
            assert "FEEDWATCH_LINK_KEY" in view.locator(".inc-no-links").inner_text()
            assert "cannot play h264" not in view.inner_text()
            with pg.expect_download(timeout=10_000) as got:
                view.locator("button.inc-download").click()
            assert Path(got.value.path()).read_bytes()[4:8] == b"ftyp"  # the MP4 itself
            assert not [u for u in asked if u.endswith("/null")]
    finally:
        server.stop()
