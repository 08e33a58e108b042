"""Kafka mode without Kafka: the API follows the status topic of its bus (in-process)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from connectors.bus import MemoryBus
from connectors.bus.status_messages import (
    CameraStatus,
    encode_camera_status,
    encode_camera_status_tombstone,
)
from connectors.retry import RetryPolicy
from connectors.store import Store
from pipeline.errors import BusError
from tests.unit.workers.api.scenarios import settings
from workers.api.app import create_app
from workers.api.live import CameraStatusRegistry
from workers.api.status_follow import StatusFollower

TOPIC = "feedwatch.status"


def _publish(bus: MemoryBus, *messages: Any) -> None:
    producer = bus.producer()
    for key, value, headers in messages:
        producer.send(TOPIC, key, value, headers)
    producer.flush()


def _status(camera: str, state: str, since: float, updated_at: float, detail: str = "",
            **stream: Any) -> Any:
    """One encoded status record; ``stream`` holds the optional segment and stream fields."""
    return encode_camera_status(CameraStatus(
        camera=camera, state=state, since=since, updated_at=updated_at, detail=detail, **stream
    ))


def _until(client: TestClient, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        cameras = {c["id"]: c for c in client.get("/api/cameras").json()}
        if ok(cameras) or time.monotonic() > deadline:
            return cameras
        time.sleep(0.05)


def test_api_shows_live_status_from_the_topic_and_accepts_those_cameras(
    sqlite_store: Store,
) -> None:
    bus, t = MemoryBus(), time.time()
    _publish(bus, _status("gate", "connecting", t, t))
    app = create_app(settings(tokens=False), sqlite_store, bus)
    with TestClient(app) as client:
        seen = _until(client, lambda c: c.get("gate", {}).get("status") == "connecting")
        assert seen["gate"]["status"] == "connecting"  # the backlog is read at start-up
        live = dict(last_segment_at=t + 3, last_segment_seq=1, segments=2,
                    codec="hevc", width=1280, height=720, fps=12.5)
        _publish(bus, _status("gate", "connected", t + 1, t + 3, "h264", **live))
        gate = _until(client, lambda c: c["gate"]["status"] == "connected")["gate"]
        assert (gate["status_since"], gate["last_segment_at"], gate["detail"]) == (
            t + 1,
            t + 3,
            "h264",
        )
        # the stream as ingest measured it; the GOP is not known yet (None: left out)
        assert gate["stream"] == {"codec": "hevc", "width": 1280, "height": 720, "fps": 12.5,
                                  "gop_s": None}
        made = client.post(
            "/api/queries", json={"question": "is the gate open?", "cameras": ["gate"]}
        )
        assert made.status_code == 201, made.text
        assert (
            client.post("/api/queries", json={"question": "x?", "cameras": ["nowhere"]}).status_code
            == 409
        )
        _publish(bus, encode_camera_status_tombstone("gate"))
        assert "gate" not in _until(client, lambda c: "gate" not in c)
    assert app.state.status_follower.applied == 3


def test_a_bad_status_record_is_skipped_and_following_goes_on(sqlite_store: Store) -> None:
    bus = MemoryBus()
    _publish(
        bus,
        (b"gate", b"{not json", []),
        _status("gate", "stalled", 5.0, 6.0, "no packets for 10s"),
    )
    with TestClient(create_app(settings(tokens=False), sqlite_store, bus)) as client:
        gate = _until(client, lambda c: "gate" in c)["gate"]
        assert (gate["status"], gate["detail"]) == ("stalled", "no packets for 10s")


def test_an_app_given_a_registry_does_not_follow_the_topic(sqlite_store: Store) -> None:
    app = create_app(
        settings(tokens=False), sqlite_store, MemoryBus(), registry=CameraStatusRegistry()
    )
    assert app.state.status_follower is None


def test_a_connected_camera_whose_ingest_went_silent_is_shown_stalled(sqlite_store: Store) -> None:
    bus, t = MemoryBus(), time.time()
    _publish(
        bus,
        _status("killed", "connected", t - 300, t - 90, last_segment_at=t - 90),
        _status("alive", "connected", t - 300, t - 1, last_segment_at=t - 1),
        _status("done", "ended", t - 300, t - 90, "end of stream"),
    )
    with TestClient(create_app(settings(tokens=False), sqlite_store, bus)) as client:
        cams = _until(client, lambda c: {"killed", "alive", "done"} <= set(c))
    assert cams["killed"]["status"] == "stalled"
    assert cams["killed"]["detail"] == "no status from its ingest process for 90s"
    assert (cams["alive"]["status"], cams["done"]["status"]) == ("connected", "ended")


class FlakyBus(MemoryBus):
    """A bus whose first ``failures`` consumers cannot be opened (the broker is away)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def consumer(self, topics: Any, group: str, *, from_beginning: bool = True) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise BusError("broker unreachable")
        return super().consumer(topics, group, from_beginning=from_beginning)


def test_follower_retries_an_absent_broker_with_backoff_then_follows() -> None:
    bus, registry = FlakyBus(failures=3), CameraStatusRegistry()
    _publish(
        bus,
        encode_camera_status(
            CameraStatus(camera="gate", state="connected", since=1.0, updated_at=2.0)
        ),
    )
    policy = RetryPolicy(initial=0.01, maximum=0.02)
    follower = StatusFollower(bus, TOPIC, registry, poll_s=0.05, retry=policy).start()
    try:
        deadline = time.monotonic() + 10
        while follower.applied == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        follower.stop()
    assert bus.failures == 0 and follower.applied == 1
    assert not follower._thread or not follower._thread.is_alive()
