"""The status contract and the ingest-side publisher, with a recording producer."""

from __future__ import annotations

import json
import math

import pytest

from connectors.bus.status_messages import (
    CameraStatus,
    decode_camera_status,
    encode_camera_status,
    encode_camera_status_tombstone,
)
from connectors.kafka.status import StatusPublisher
from connectors.video.status import StatusEvent, StreamStatus
from pipeline.errors import MessageError
from pipeline.types import Segment
from tests.unit.fakes import RecordingProducer


class StatusProducer(RecordingProducer):
    """Records what is sent; with ``fail``, no flush is acknowledged."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__(fail_flushes=math.inf if fail else 0)

    def states(self) -> list[CameraStatus]:
        decoded = [decode_camera_status(k, v, h)[1] for _t, k, v, h in self.sent]
        return [s for s in decoded if s is not None]


def test_status_snapshot_round_trips_and_a_tombstone_removes() -> None:
    status = CameraStatus(
        camera="dock-1",
        state="stalled",
        since=100.0,
        updated_at=101.5,
        detail="no packets",
        last_segment_at=99.0,
        last_segment_seq=7,
        segments=8,
    )
    key, value, headers = encode_camera_status(status)
    assert key == b"dock-1" and ("schema", b"1") in headers
    assert decode_camera_status(key, value, headers) == ("dock-1", status)
    assert decode_camera_status(*encode_camera_status_tombstone("dock-1")) == ("dock-1", None)


@pytest.mark.parametrize(
    "change",
    [{"state": "dancing"}, {"camera": "other"}, {"schema": 99}, {"since": "later"}],
)
def test_a_malformed_status_names_what_is_wrong(change: dict[str, object]) -> None:
    key, value, _ = encode_camera_status(
        CameraStatus(camera="cam", state="connected", since=1.0, updated_at=2.0)
    )
    assert value is not None
    body = {**json.loads(value), **change}
    with pytest.raises(MessageError, match="status message"):
        decode_camera_status(key, json.dumps(body).encode())


def _event(state: StreamStatus, at: float, detail: str = "") -> StatusEvent:
    return StatusEvent("cam", state, at, detail)


def test_publisher_sends_a_whole_snapshot_per_event_and_segment() -> None:
    producer = StatusProducer()
    pub = StatusPublisher(producer, "x.status", "cam", clock=lambda: 50.0)
    pub.observe(_event(StreamStatus.CONNECTING, 10.0))
    pub.observe(_event(StreamStatus.CONNECTED, 11.0, "h264"))
    pub.saw_segment(Segment("cam", 0, 11.0, 2.0, b"x"))
    pub.saw_segment(Segment("cam", 1, 13.0, 2.0, b"x"))
    pub.observe(_event(StreamStatus.ENDED, 16.0, "end of stream"))
    pub.close()
    states = producer.states()
    assert {t for t, *_ in producer.sent} == {"x.status"}
    assert [s.state for s in states] == [
        "connecting",
        "connected",
        "connected",
        "connected",
        "ended",
    ]  # no second "ended" from close: the stream had ended by itself
    assert [s.last_segment_at for s in states] == [None, None, 13.0, 15.0, 15.0]
    assert (states[-1].since, states[-1].detail, states[-1].segments) == (16.0, "end of stream", 2)
    assert producer.closed


def test_close_marks_a_stopped_camera_ended_and_broker_errors_never_raise() -> None:
    producer = StatusProducer(fail=True)
    pub = StatusPublisher(producer, "x.status", "cam", clock=lambda: 5.0)
    pub.observe(_event(StreamStatus.CONNECTED, 1.0))
    pub.close()
    assert [s.state for s in producer.states()] == ["connected", "ended"]
    assert producer.states()[-1].detail == "ingest stopped"
