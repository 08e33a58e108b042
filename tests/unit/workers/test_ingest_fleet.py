"""One ingest process for many cameras: the cameras list, and a fleet whose readers fail
on their own (restarted, or final for a file) while the others keep writing to one sink."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.retry import RetryPolicy
from pipeline.errors import ConfigError, SourceError
from pipeline.types import Segment
from workers.config import Settings
from workers.ingest import fleet as fleet_module
from workers.ingest.cameras import CameraSource, load_cameras, parse_cameras
from workers.ingest.fleet import IngestFleet


def test_the_cameras_list_is_id_equals_uri_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "cameras.env"
    path.write_text("# dock\ndock-1=rtsp://u:secret@h/1\n\nyard=/videos/yard.mp4\n")
    assert load_cameras(str(path), env={}) == [
        CameraSource("dock-1", "rtsp://u:secret@h/1"), CameraSource("yard", "/videos/yard.mp4")]
    env = {"FEEDWATCH_INGEST_CAMERAS": "a=rtsp://h/a b=rtsp://h/b\nc=rtsp://h/c"}
    assert [c.id for c in load_cameras(None, env=env)] == ["a", "b", "c"]
    assert load_cameras(None, env={}) == []


@pytest.mark.parametrize(("text", "names"), [
    ("a=rtsp://h/1 a=rtsp://h/2", "entry 2"),  # twice
    ("rtsp://u:secret@h/1", "entry 1"),  # no id
    ("bad/id=rtsp://h/1", "entry 1"),
])
def test_a_bad_entry_is_named_by_number_and_never_shows_a_password(text: str,
                                                                   names: str) -> None:
    with pytest.raises(ConfigError, match=names) as caught:
        parse_cameras(text, "FEEDWATCH_INGEST_CAMERAS")
    assert "secret" not in str(caught.value)


def test_more_cameras_than_a_process_may_read_is_refused() -> None:
    env = {"FEEDWATCH_INGEST_CAMERAS": " ".join(f"c{i}=rtsp://h/{i}" for i in range(5))}
    with pytest.raises(ConfigError, match="at most 4 per process"):
        load_cameras(None, env=env, max_cameras=4)


class ListSink:
    """A SegmentSink that keeps what was flushed, and how many flushes it took."""

    def __init__(self) -> None:
        self.pending: list[Segment] = []
        self.written: list[Segment] = []
        self.flushes = 0
        self.closed = False

    def add(self, segment: Segment) -> None:
        if len(segment.data) > 100:
            raise ValueError("too large")
        self.pending.append(segment)

    def flush(self) -> None:
        self.written += self.pending
        self.pending, self.flushes = [], self.flushes + 1

    def close(self) -> None:
        self.closed = True


class FakeLive:
    """Two segments per connection; a live camera named ``flaky`` fails its first one."""

    opened: dict[str, int] = {}

    def __init__(self, camera: str, seq: int, stop: threading.Event) -> None:
        self.camera, self.seq, self.stop = camera, seq, stop
        self.retry = camera != "file"
        self.profile = None
        FakeLive.opened[camera] = FakeLive.opened.get(camera, 0) + 1

    def __iter__(self) -> Iterator[Segment]:
        for i in range(2):
            if self.camera in ("flaky", "file") and FakeLive.opened[self.camera] == 1 and i == 1:
                raise SourceError(f"{self.camera} lost")
            size = 200 if self.camera == "big" and i == 0 else 10
            yield Segment(self.camera, self.seq + i, float(self.seq + i), 1.0, b"x" * size)


def test_a_failing_camera_restarts_on_its_own_while_the_others_keep_writing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeLive.opened = {}
    monkeypatch.setattr(fleet_module, "RESTART", RetryPolicy(initial=0.01, maximum=0.02))
    monkeypatch.setattr(IngestFleet, "_open",
                        lambda self, run, seq: FakeLive(run.source.id, seq, run.stop))
    sink = ListSink()
    cams = [CameraSource(c, f"rtsp://h/{c}") for c in ("a", "flaky", "file", "big")]
    runs = IngestFleet(cams, Settings(), sink, max_segments=2).run()
    by = {r.source.id: r for r in runs}
    seqs = {c: [s.seq for s in sink.written if s.camera == c] for c in by}
    assert seqs["a"] == [0, 1]
    # flaky: segment 0, lost, its reader started again from the next seq
    assert seqs["flaky"] == [0, 1] and by["flaky"].restarts == 1 and not by["flaky"].failed
    # a file's error is final, and only that camera's
    assert seqs["file"] == [0] and by["file"].failed and "file lost" in by["file"].summary()
    # a segment the sink refuses is skipped, the camera goes on
    assert seqs["big"] == [1] and by["big"].skipped == 1
    assert sink.closed and sink.flushes <= len(sink.written) + 1


def test_a_readers_error_names_its_camera_once(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: IngestFleet, run: object, seq: int) -> object:
        raise SourceError("camera 'porch': /v/a.m4a has no video stream")

    monkeypatch.setattr(IngestFleet, "_open", broken)
    with caplog.at_level("ERROR", logger="workers.ingest.fleet"):
        runs = IngestFleet([CameraSource("porch", "/v/a.m4a")], Settings(), ListSink()).run()
    assert [r.getMessage() for r in caplog.records] == [
        "camera porch: reader failed: /v/a.m4a has no video stream"]
    assert runs[0].summary().count("porch") == 1
