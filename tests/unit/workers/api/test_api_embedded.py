"""``feedwatch run --serve``: the API beside a real EmbeddedRun (fake perception only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx

from connectors.store import AnswerSink, Store
from connectors.video.status import StatusEvent, StreamStatus
from pipeline.perceiver import PerceiverStats
from pipeline.types import Segment, StandingQuery
from tests.unit.workers.api.live_scenarios import SseReader
from tests.unit.workers.api.scenarios import READ, WRITE, answer, settings
from workers.api.embedded import attach_to_run
from workers.perception.embedded import CameraSource, EmbeddedRun


class FakePerceiver:
    """Answers every query it knows once per segment (no models involved)."""

    def __init__(self) -> None:
        self.stats = PerceiverStats()
        self.queries: dict[str, StandingQuery] = {}
        self.engine = self  # no query fails to build or answer here

    def take_failures(self) -> list[Any]:
        return []

    def take_skips(self) -> list[Any]:
        return []  # every window is answered here

    def on_query(self, query_id: str, query: StandingQuery | None) -> None:
        if query is None:
            self.queries.pop(query_id, None)
        else:
            self.queries[query_id] = query

    def frames_of(self, segment: Segment) -> list[Any]:
        return [segment.start, segment.end]

    def encode_batch(self, per_segment: list[list[Any]]) -> list[list[Any]]:
        return [list(frames) for frames in per_segment]

    def admit(self, segment: Segment, encoded: list[Any]) -> list[Any]:
        return [segment]  # its "due windows": the segment itself

    def look_ahead(self, dues: list[Any]) -> None:
        pass

    def answer(self, dues: list[Segment]) -> list[Any]:
        return [a for segment in dues for a in self.on_segment(segment)]

    def on_segment(self, segment: Segment) -> list[Any]:
        self.stats.segments += 1
        self.stats.frames += 2
        return [
            answer(q, segment.camera, segment.end, text=f"seen at {segment.end}")
            for q in self.queries
        ]


def test_serve_beside_an_embedded_run(tmp_path: Any) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'run.db'}")
    store.upsert_camera("dock", "file.mp4")
    release, first_done = threading.Event(), threading.Event()

    def segments(
        uri: str, camera: str, *, stop: threading.Event, observer: Any = None
    ) -> Iterator[Segment]:
        observer(StatusEvent(camera, StreamStatus.CONNECTED, 100.0))
        yield Segment(camera, 0, 100.0, 2.0, b"\x00")
        first_done.set()
        release.wait(20)  # a live camera: the next segment comes later
        yield Segment(camera, 1, 102.0, 2.0, b"\x00")

    perceiver = FakePerceiver()
    run = EmbeddedRun(
        [CameraSource("dock", "file.mp4")], [], perceiver, AnswerSink(store), segments=segments
    )
    server = attach_to_run(run, settings(sse_keepalive_s=0.3), port=0)
    worker = threading.Thread(target=run.run, daemon=True)
    worker.start()
    auth = {"Authorization": f"Bearer {WRITE}"}
    try:
        assert first_done.wait(10)
        created = httpx.post(
            f"{server.url}/api/queries",
            json={"question": "a red circle?", "cameras": ["dock"]},
            headers=auth,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        qid = created.json()["id"]
        reader = SseReader(f"{server.url}/api/answers/stream?query_id={qid}", READ)
        try:
            assert reader.connected.wait(10)
            release.set()  # the run evaluates the query it got from the dashboard
            ((_, got),) = reader.wait_for(1)
            assert (got["query_id"], got["window_end"]) == (qid, 104.0)
        finally:
            reader.close()
        cams = httpx.get(f"{server.url}/api/cameras", headers=auth, timeout=10).json()
        assert (cams[0]["id"], cams[0]["status"], cams[0]["last_segment_at"]) == (
            "dock",
            "connected",
            104.0,
        )
        text = httpx.get(f"{server.url}/metrics", headers=auth, timeout=10).text
        assert 'feedwatch_segments_total{camera="dock"}' in text
    finally:
        release.set()
        run.stop.set()
        worker.join(10)
        server.stop()
        store.close()
