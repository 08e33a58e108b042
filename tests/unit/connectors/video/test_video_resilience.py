"""Reconnects with backoff + jitter, stall handling and status events (no network)."""

from __future__ import annotations

import threading
from fractions import Fraction

import pytest

from connectors.retry import RetryPolicy
from connectors.video.base import (
    InvalidTransition,
    SourceUnreachable,
    StreamEnded,
    StreamStalled,
)
from connectors.video.packets import StreamInfo, TimedPacket
from connectors.video.resilience import LiveSegments
from connectors.video.status import StatusTracker, StreamStatus
from connectors.video.testing import MemorySource
from pipeline.errors import SourceError
from pipeline.types import Segment

S = StreamStatus
INFO = StreamInfo("h264", 320, 240, 25.0, Fraction(1, 90000))


def test_status_transitions_are_explicit() -> None:
    assert S.CONNECTED.can_become(S.STALLED)
    assert S.RECONNECTING.can_become(S.RECONNECTING)
    assert not S.ENDED.can_become(S.CONNECTED)
    assert not S.CONNECTING.can_become(S.STALLED)
    tracker = StatusTracker("cam")
    with pytest.raises(InvalidTransition, match="connecting -> stalled"):
        tracker.move(S.STALLED)


def test_tracker_publishes_events_and_survives_a_broken_observer() -> None:
    seen = []

    def observer(event):
        seen.append(event)
        raise RuntimeError("dashboard down")

    tracker = StatusTracker("cam", observer, clock=lambda: 1_700_000_000.0)
    tracker.start()
    tracker.move(S.CONNECTED, "h264")
    assert [(e.camera, e.state, e.at, e.detail) for e in seen] == [
        ("cam", S.CONNECTING, 1_700_000_000.0, ""), ("cam", S.CONNECTED, 1_700_000_000.0, "h264")]


class KeyframeStage:
    """A stand-in for the Segmenter: one segment per keyframe-started group."""

    def __init__(self, start_seq: int = 0) -> None:
        self.next_seq = start_seq
        self.group: list[TimedPacket] = []

    def feed(self, tp):
        done = self.flush() if tp.keyframe and self.group else []
        self.group.append(tp)
        return done

    def flush(self):
        if not self.group:
            return []
        g, self.group = self.group, []
        seg = Segment("cam", self.next_seq, g[0].t, g[-1].t + 0.5 - g[0].t, b"ts")
        self.next_seq += 1
        return [seg]


def packets(start: float, n: int) -> list[TimedPacket]:
    return [TimedPacket(None, start + i * 0.5, i % 2 == 0, 0.5, 100) for i in range(n)]  # type: ignore[arg-type]


def run(script, *, retry=True, max_reconnects=-1):
    """Drive LiveSegments over a scripted list of opener outcomes."""
    outcomes = iter(script)
    starts = []

    def opener(not_before):
        starts.append(not_before)
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    events = []
    live = LiveSegments("cam", opener, KeyframeStage(), StatusTracker("cam", events.append),
                        RetryPolicy(0.001, 0.002).delays(), retry=retry,
                        max_reconnects=max_reconnects)
    return live, events, starts


def test_reconnects_after_stall_and_close_numbering_and_time_continue() -> None:
    stall = lambda: StreamStalled("no data")  # noqa: E731
    ended = lambda: StreamEnded("closed")  # noqa: E731
    script = [
        SourceUnreachable("refused"),
        MemorySource("cam", packets(100.0, 5), INFO, fail_after=5, error=stall),
        SourceError("404 not found"),  # after a first connection, any failure is retried
        MemorySource("cam", packets(110.0, 4), INFO, fail_after=4, error=ended),
        MemorySource("cam", packets(120.0, 4), INFO, live=False),
    ]
    live, events, starts = run(script)
    segs = list(live)
    assert [s.seq for s in segs] == list(range(len(segs)))
    assert all(a.start < b.start for a, b in zip(segs, segs[1:], strict=False))
    # partial segments are flushed before reconnecting: nothing read is lost
    assert [s.start for s in segs] == [100.0, 101.0, 102.0, 110.0, 111.0, 120.0, 121.0]
    assert [e.state for e in events] == [
        S.CONNECTING, S.RECONNECTING, S.CONNECTED, S.STALLED, S.RECONNECTING, S.RECONNECTING,
        S.CONNECTED, S.RECONNECTING, S.CONNECTED, S.ENDED]
    assert "no data" in events[3].detail
    assert starts[0] is None and starts[2] == 102.5  # next anchor not before the last end


def test_gives_up_after_max_reconnects_with_a_clear_error() -> None:
    live, events, _ = run([SourceUnreachable("refused")] * 5, max_reconnects=2)
    with pytest.raises(SourceError, match="gave up after 2 reconnect attempts.*refused"):
        list(live)
    assert events[-1].state is S.ENDED


def test_a_wrong_url_fails_at_once_instead_of_retrying_forever() -> None:
    live, events, starts = run([SourceError("HTTP 404"), SourceUnreachable("refused")])
    with pytest.raises(SourceError, match="404"):
        list(live)
    assert len(starts) == 1 and [e.state for e in events] == [S.CONNECTING, S.ENDED]


def test_files_do_not_retry_and_keep_segments_read_before_the_error() -> None:
    broken = MemorySource("cam", packets(0.0, 5), INFO, fail_after=5,
                          error=lambda: SourceError("read failed on x.mp4"))
    live, events, _ = run([broken], retry=False)
    got = []
    with pytest.raises(SourceError, match="read failed"):
        for seg in live:
            got.append(seg)
    assert [s.start for s in got] == [0.0, 1.0, 2.0]
    assert [e.state for e in events] == [S.CONNECTING, S.CONNECTED, S.ENDED]


def test_stop_event_ends_the_stream() -> None:
    stop = threading.Event()
    live, events, _ = run([MemorySource("cam", packets(0.0, 40), INFO, live=False)])
    live.stop = stop
    got = []
    for seg in live:
        got.append(seg)
        stop.set()
    assert len(got) <= 2
    assert events[-1].state is S.ENDED and events[-1].detail == "stopped"


def test_a_status_detail_does_not_name_its_own_camera_again() -> None:
    lost = SourceUnreachable("camera 'cam': cannot open rtsp://h/1: refused")
    live, events, _ = run([lost] * 3, max_reconnects=1)
    with pytest.raises(SourceError) as caught:
        list(live)
    assert events[1].detail == "attempt 1 in 0.0s: cannot open rtsp://h/1: refused"
    assert str(caught.value).count("'cam'") == 1
