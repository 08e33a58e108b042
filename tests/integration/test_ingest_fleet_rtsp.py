"""One ingest process, three RTSP cameras: one camera's server is killed and restarted,
and the other two cameras keep delivering segments without a gap longer than a segment
plus a second, while the lost camera reconnects on its own and its numbering goes on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.video.settings import VideoSettings
from pipeline.types import Segment
from tests.waiting import wait_until
from workers.config import Settings
from workers.ingest.cameras import CameraSource
from workers.ingest.fleet import IngestFleet

SEGMENT_S = 2.0
VIDEO = VideoSettings(segment_seconds=SEGMENT_S, stall_timeout_s=3, open_timeout_s=10,
                      reconnect_initial_s=0.2, reconnect_max_s=1.0)


class ArrivalSink:
    """Keeps each flushed segment with the time it was written."""

    def __init__(self) -> None:
        self.pending: list[Segment] = []
        self.written: list[tuple[float, Segment]] = []

    def add(self, segment: Segment) -> None:
        self.pending.append(segment)

    def flush(self) -> None:
        now = time.time()
        self.written += [(now, s) for s in self.pending]
        self.pending = []

    def close(self) -> None:
        self.flush()

    def of(self, camera: str) -> list[tuple[float, Segment]]:
        return [(t, s) for t, s in self.written if s.camera == camera]


@pytest.mark.timeout(120)
def test_a_camera_restarted_leaves_the_others_without_a_gap(rtsp_server,
                                                            tiny_h264_clip: Path) -> None:
    servers = {cam: rtsp_server(tiny_h264_clip, mount=cam, loop_seconds=120)
               for cam in ("gate", "yard", "dock")}
    sink = ArrivalSink()
    settings = Settings().model_copy(update={"video": VIDEO})
    fleet = IngestFleet([CameraSource(c, s.url) for c, s in servers.items()], settings, sink)
    runner = threading.Thread(target=fleet.run, daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: all(len(sink.of(c)) >= 2 for c in servers), 40, poll=0.2)
        killed_at = time.time()
        servers["yard"].stop()
        time.sleep(3.0)  # the camera is away; its reader tries to reconnect meanwhile
        servers["yard"].start()
        assert wait_until(lambda: any(t > killed_at + 3.0 for t, _ in sink.of("yard")), 40,
                          poll=0.2), "the restarted camera never came back"
        assert wait_until(lambda: all(sink.of(c)[-1][0] > time.time() - SEGMENT_S - 1
                                      for c in ("gate", "dock")), 10, poll=0.2)
    finally:
        fleet.stop()
        runner.join(timeout=15)
    for cam in ("gate", "dock"):
        times = [t for t, _ in sink.of(cam) if t >= killed_at - SEGMENT_S]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert times and max(gaps) <= SEGMENT_S + 1.0, (cam, gaps)
    yard = [s.seq for _, s in sink.of("yard")]
    assert yard == list(range(len(yard)))  # one reader, numbering continues
