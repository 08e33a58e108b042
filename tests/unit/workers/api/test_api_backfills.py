"""``/api/backfills``: a query's backfill is a background job a client follows and cancels.

Frames are the shapes-demo CLIP's (``test_api_history.index_clip``: 30 s of one camera,
"a red circle" at 12–20 s), over SQLite; the runner is the API process's own thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from connectors.store.backfills.jobs import BackfillJobs
from pipeline.history.backfill import backfill_camera
from pipeline.history.records import to_encoded
from pipeline.types import StandingQuery
from tests.unit.workers.api.scenarios import READ, ApiHarness
from tests.unit.workers.api.test_api_history import finished, index_clip, red  # noqa: F401
from workers.history.backfill import Backfiller

pytestmark = pytest.mark.usefixtures("red")


def answers_of(h: ApiHarness, query_id: str) -> list[dict[str, Any]]:
    page = h.call("GET", "/api/answers", READ, params={"query_id": query_id, "limit": 200})
    return sorted(page.json()["items"], key=lambda a: a["window_end"])


def test_a_backfill_runs_in_the_background_and_answers_as_the_synchronous_one(
    harness: ApiHarness, red: np.ndarray  # noqa: F811
) -> None:
    index_clip(harness.store, red)
    created = harness.create("a red circle", backfill="30s", every=1, window=4)
    job = created["backfill"]
    assert job["url"] == f"/api/backfills/{job['id']}" and job["query_id"] == created["id"]
    assert job["state"] in ("queued", "running") and job["seconds"] == 30
    done = finished(harness, created)
    assert (done["state"], done["windows_done"], done["windows_total"]) == ("done", 30, 30)
    assert (done["since"], done["until"], done["error"]) == (0.0, 29.0, None)
    listed = harness.call("GET", "/api/backfills", READ, params={"query": created["id"]}).json()
    assert [j["id"] for j in listed] == [job["id"]] and listed[0]["state"] == "done"
    # the same answers as the whole range evaluated at once by a fresh engine
    service = harness.app.state.history
    reference = Backfiller.load(harness.store, service.perception)
    stored = [to_encoded(r) for r in reference.index.frames("dock", 0.0, 29.0)]
    query = StandingQuery(created["id"], "a red circle", ("*",), 1.0, 4.0)
    expected = backfill_camera(reference.engine, query, "dock", stored, 30.0)
    got = answers_of(harness, created["id"])
    assert done["answers"] == len(got) == len(expected) == 29
    assert [(a["window_end"], a["matched"], a["backfilled"]) for a in got] == [
        (a.window_end, a.matched, True) for a in expected]
    assert [a["score"] for a in got] == pytest.approx([a.score for a in expected], abs=1e-6)


def test_a_running_backfill_reports_progress_and_is_cancelled(
    harness: ApiHarness, red: np.ndarray  # noqa: F811
) -> None:
    index_clip(harness.store, red)
    runner = harness.app.state.history.runner
    gate, load = threading.Event(), runner.backfiller

    def slow() -> Backfiller:  # reports after every window, the 5th waits for the gate
        backfiller = load()
        backfiller.report_s, backfiller.flush_windows = 0.0, 1
        evaluate = backfiller.engine.evaluate

        def gated(due: Any, window: Any) -> Any:
            if due.end >= 5:
                gate.wait(30)
            return evaluate(due, window)

        backfiller.engine.evaluate = gated  # type: ignore[method-assign]
        return backfiller

    runner.backfiller = slow
    created = harness.create("a red circle", backfill="30s", every=1, window=4)
    url = created["backfill"]["url"]
    deadline = time.monotonic() + 30
    while (job := harness.call("GET", url, READ).json())["windows_done"] < 4:
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    assert (job["state"], job["windows_total"]) == ("running", 30) and job["answers"] >= 3
    assert harness.call("DELETE", url, READ).status_code == 403
    assert harness.call("DELETE", url, None).status_code == 401
    cancelled = harness.call("DELETE", url)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    gate.set()
    time.sleep(0.3)
    after = harness.call("GET", url, READ).json()
    assert after["state"] == "cancelled" and after["error"] == "cancelled by a client"
    assert len(answers_of(harness, created["id"])) < 29  # it stopped; what it stored stays
    again = harness.call("DELETE", url)
    assert again.status_code == 409 and "already finished" in again.json()["detail"]
    assert harness.call("GET", "/api/backfills/nope", READ).status_code == 404
    assert harness.call("DELETE", "/api/backfills/nope").status_code == 404
    assert harness.call("GET", url, None).status_code == 401


def test_range_times_rate_is_bounded_and_nothing_is_stored_when_refused(
    sqlite_store: Any, red: np.ndarray  # noqa: F811
) -> None:
    h = ApiHarness(sqlite_store, api={"backfill_max_windows": 600})
    index_clip(h.store, red)
    refused = h.call("POST", "/api/queries",
                     json={"question": "a red circle", "backfill": "1h", "every": 1})
    assert refused.status_code == 409, refused.text  # a rule across fields, like window
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "backfill"] and "at most 600" in detail["msg"]
    assert "3600 windows" in detail["msg"]
    assert h.call("GET", "/api/queries", READ).json() == []
    ok = h.create("a red circle", backfill="1h", every=6, window=6)  # 600 windows
    assert ok["backfill"]["seconds"] == 3600


def test_backfills_queued_at_once_are_bounded(sqlite_store: Any, red: np.ndarray) -> None:  # noqa: F811
    h = ApiHarness(sqlite_store, api={"backfill_max_active": 1})
    index_clip(h.store, red)
    h.app.state.history.runner.stop()  # a stopping process takes no job: it stays queued
    first = h.create("a red circle", backfill="30s")
    assert first["backfill"]["state"] == "queued"
    busy = h.call("POST", "/api/queries", json={"question": "a blue square", "backfill": "30s"})
    assert busy.status_code == 429 and busy.headers["Retry-After"].isdigit()
    assert [q["id"] for q in h.call("GET", "/api/queries", READ).json()] == [first["id"]]
    without = h.create("a blue square")  # no backfill, no bound
    assert "backfill" not in without
    assert h.call("DELETE", f"/api/queries/{first['id']}").status_code == 204
    job = h.call("GET", first["backfill"]["url"], READ).json()
    assert job["state"] == "cancelled" and job["error"] == "the query was deleted"
    assert h.create("a green star", backfill="30s")["backfill"]["state"] == "queued"


def test_an_interrupted_backfill_is_resumed_by_another_api_process(
    harness: ApiHarness, red: np.ndarray  # noqa: F811
) -> None:
    index_clip(harness.store, red)
    query = StandingQuery("q-resume", "a red circle", ("dock",), 1.0, 4.0)
    harness.store.upsert_query(query)
    past = BackfillJobs(harness.store.engine, clock=lambda: time.time() - 600)
    job = past.create(query, 30.0, owner="a-process-that-died")  # running, silent 10 minutes
    harness.app.state.history.runner.wake()
    done = finished(harness, {"backfill": {"url": f"/api/backfills/{job.id}"}})
    assert (done["state"], done["attempts"], done["windows_done"]) == ("done", 2, 30)
    assert len(answers_of(harness, query.id)) == 29
