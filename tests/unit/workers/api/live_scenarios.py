"""Live-stream (SSE) behaviours checked on every store backend; see :mod:`scenarios`."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from connectors.store import Store
from tests.unit.workers.api.scenarios import READ, ApiHarness, answer

# ---------------------------------------------------------------- live stream


class SseReader:
    """Reads ``event: answer`` frames from a live stream in a background thread."""

    def __init__(self, url: str, token: str | None, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=60.0))
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._thread = threading.Thread(
            target=self._run, args=(url, {**auth, **(headers or {})}), daemon=True
        )
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as resp:
                assert resp.status_code == 200, resp.status_code
                assert resp.headers["content-type"].startswith("text/event-stream")
                event_id = ""
                for line in resp.iter_lines():
                    self.connected.set()
                    if self._stop.is_set():
                        return
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("data: "):
                        self.events.append((event_id, json.loads(line[6:])))
        except httpx.HTTPError:
            pass  # closed by the test
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
        finally:
            self.connected.set()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.05)
        assert self.error is None, self.error
        return list(self.events)

    def close(self) -> None:
        """Stops at the next line (keep-alives come every ``sse_keepalive_s``)."""
        self._stop.set()
        self._thread.join(10)
        self._client.close()


def check_sse_delivers(h: ApiHarness) -> None:
    """A stream opened now gets each newly stored answer once, with its evidence link."""
    h.store.insert_answers([answer("old", "a", 1.0)])  # stored before: not replayed
    with h.served() as url:
        reader = SseReader(f"{url}/api/answers/stream", READ)
        try:
            assert reader.connected.wait(10)
            h.store.insert_answers([answer("q1", "dock", 50.0, text="forklift at the exit")])
            h.notifier.notify()
            ((event_id, first),) = reader.wait_for(1)
            assert (first["query_id"], first["text"], first["camera"]) == (
                "q1",
                "forklift at the exit",
                "dock",
            )
            assert event_id == str(first["id"])
            assert first["evidence"][0]["url"] == f"/api/answers/{first['id']}/evidence/0.jpg"
            h.store.insert_answers(
                [answer("q1", "dock", 50.0), answer("q2", "dock", 51.0)]
            )  # one redelivered
            events = reader.wait_for(2)
            assert [e["query_id"] for _, e in events] == ["q1", "q2"]
            time.sleep(1.5)
            assert len(reader.events) == 2
        finally:
            reader.close()

        resumed = SseReader(
            f"{url}/api/answers/stream?query_id=q2", READ, {"Last-Event-ID": event_id}
        )
        try:
            assert [e["window_end"] for _, e in resumed.wait_for(1)] == [51.0]
        finally:
            resumed.close()
        denied = httpx.get(f"{url}/api/answers/stream", timeout=5)
        assert denied.status_code == 401


def _insert_with_id(store: Store, answer_id: int, query_id: str, window_end: float) -> None:
    """An answer row with a chosen id: what a slower writer's late commit looks like."""
    from connectors.store.models import AnswerRow

    a = answer(query_id, "dock", window_end, evidence=0)
    row = {
        "id": answer_id,
        "query_id": a.query_id,
        "camera_id": a.camera,
        "question": a.question,
        "window_start": a.window_start,
        "window_end": a.window_end,
        "evaluated_at": a.evaluated_at,
        "answerer": a.answerer,
        "text": a.text,
        "matched": a.matched,
        "score": a.score,
        "frames": list(a.frames),
        "rois": [list(r) for r in a.rois],
        "visual_tokens": a.visual_tokens,
        "latency_ms": a.latency_ms,
        "model_ids": a.model_ids,
    }
    with store.engine.begin() as conn:
        conn.execute(AnswerRow.__table__.insert().values(**row))


def check_sse_late_commit(h: ApiHarness) -> None:
    """A row whose id is below one already streamed (committed late) is still delivered."""
    with h.served() as url:
        reader = SseReader(f"{url}/api/answers/stream", READ)
        try:
            assert reader.connected.wait(10)
            _insert_with_id(h.store, 1000, "q1", 10.0)
            _insert_with_id(h.store, 1002, "q1", 12.0)
            assert [e["id"] for _, e in reader.wait_for(2)] == [1000, 1002]
            _insert_with_id(h.store, 1001, "q1", 11.0)
            h.notifier.notify()
            events = reader.wait_for(3)
            assert [e["id"] for _, e in events] == [1000, 1002, 1001]
            assert [event_id for event_id, _ in events] == ["1000", "1002", "1002"]
        finally:
            reader.close()
