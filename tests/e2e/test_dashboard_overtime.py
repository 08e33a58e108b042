"""The dashboard's answers over time in real headless Chromium: for a question with
stored answers (the synthetic stream of tests/answer_stream.py), the 24-hour strip
shows matched time in the right cells, the 7-day chart one bar of 5.5 matched minutes,
the runs are listed with their evidence and incident. A screenshot is saved to
``artifacts/dashboard_overtime.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.store import Store
from pipeline.types import Evidence
from tests import answer_stream as truth
from tests.e2e.dashboard import need_chromium, serve, signed_in
from tests.e2e.test_dashboard_browser import BOX, keyframe
from tests.unit.workers.api.scenarios import READ, ApiHarness

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard_overtime.png"
FIRSTS = {truth.T0 + r.start - truth.T0 + truth.EVERY for r in truth.RUNS}

pytest.importorskip("playwright.sync_api")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    store = Store.from_url(f"sqlite:///{tmp_path / 'overtime.db'}")
    yield from serve(ApiHarness(store))


def _seed(h: ApiHarness) -> str:
    h.store.upsert_camera(truth.CAMERA, "rtsp://cams/dock")
    qid = h.create("is the dock door open?", cameras=[truth.CAMERA], every=2, window=6)["id"]
    answers = [replace(a, query_id=qid) for a in truth.stream()]
    answers = [
        replace(a, evidence=(Evidence(a.window_end - 1, keyframe(0), BOX),))
        if a.window_end in FIRSTS else a
        for a in answers
    ]
    h.store.insert_answers(answers)
    with h.store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO incidents (id, rule_id, query_id, camera_id, question, state, started_at,"
            " opened_at, last_hit_at, closed_at, notified, updated_at) VALUES ('inc-dock-1', 'r1',"
            " :q, 'cam1', 'q', 'closed', :s, :s, :e, :e, '[]', 0)"),
            {"q": qid, "s": truth.T0 + 100, "e": truth.T0 + 170})
    return qid


def test_strip_week_chart_and_runs_for_a_question(served: tuple[ApiHarness, str]) -> None:
    h, url = served
    qid = _seed(h)
    with signed_in(url, READ,
                   viewport={"width": 1280, "height": 1100}, timezone_id="Europe/Berlin") as pg:
        box = pg.locator(f"article.card[data-query-id='{qid}'] .ot-camera[data-camera='cam1']")
        box.wait_for(timeout=15_000)
        assert "5m31s matched, 5 runs" in box.locator("h4").inner_text()
        cells = box.locator(".ot-strip .cell")
        assert cells.count() == 289  # 24 h of 5-minute cells, and the newest one
        assert box.locator(".ot-strip .cell.hit").count() == 2  # 22:00-22:05, 22:05-22:10
        bars = box.locator(".ot-week .bar")
        assert bars.count() == 8  # 7 days back from the newest window, day by day
        values = [bars.nth(i).locator(".value").inner_text() for i in range(8)]
        assert values[-1] == "5.5" and set(values[:-1]) == {"0.0"}
        runs = box.locator(".ot-runs li.run")
        assert runs.count() == 5
        assert "2m00s (2m00s matched)" in runs.nth(4).inner_text()  # run A (oldest last)
        assert "1m35s (1m31s matched)" in runs.nth(2).inner_text()  # B2: a gap, a restart
        runs.nth(4).locator(".evidence-link").click()
        pg.wait_for_function(
            "() => [...document.querySelectorAll('.ot-keyframe')]"
            ".some(i => i.complete && i.naturalWidth === 224)", timeout=10_000)
        incident = box.locator(".ot-runs .incident")
        assert incident.count() == 1  # run A (60..180) overlaps incident 100..170
        incident.click()
        box.locator(".ot-incident-detail", has_text="closed").wait_for(timeout=10_000)
        pg.locator("#incident-view[data-incident-id='inc-dock-1']").wait_for(timeout=10_000)
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        box.scroll_into_view_if_needed()
        pg.screenshot(path=str(ARTIFACT), full_page=True)
    assert ARTIFACT.stat().st_size > 10_000


def test_run_times_name_their_zone_and_keep_their_seconds(served: tuple[ApiHarness, str]) -> None:
    """The rest of the page shows UTC; the answers over time show the browser's zone, so
    they name it, and a run's end keeps its seconds (a 20 s run read "06:16:44 – 06:16")."""
    h, url = served
    qid = _seed(h)
    with signed_in(url, READ, viewport={"width": 1280, "height": 1100},
                   timezone_id="Europe/Berlin") as pg:
        run = pg.locator(f"article.card[data-query-id='{qid}'] .ot-runs li.run .when").last
        run.wait_for(timeout=15_000)
        start, end = run.inner_text().split(" – ")
        clock = r"\d{2}:\d{2}:\d{2}( [AP]M)? GMT\+1$"
        assert re.search(clock, start), start
        assert re.search(clock, end), end
