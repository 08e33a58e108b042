"""Live-source resilience: reconnect with the retry policy's delays (capped exponential
backoff with jitter, :mod:`connectors.retry`), stall detection (the source's read
timeout), and status events along the way."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol

import av.error

from connectors.retry import Backoff, RetryPolicy
from connectors.video.base import SourceUnreachable, StatusObserver, StreamStalled, VideoSource
from connectors.video.packets import TimedPacket
from connectors.video.segmenter import REMUXABLE, Segmenter
from connectors.video.settings import VideoSettings, check_settings
from connectors.video.sources import open_source
from connectors.video.status import StatusTracker, StreamMeter, StreamProfile, StreamStatus
from connectors.video.transcode import Transcoder
from connectors.video.uri import check_camera, parse_uri
from pipeline.errors import SourceError, camera_reason
from pipeline.types import Segment

log = logging.getLogger(__name__)


class Stage(Protocol):
    """Packets → segments: the remuxing ``Segmenter`` or the ``Transcoder``."""

    next_seq: int

    def feed(self, tp: TimedPacket) -> list[Segment]: ...

    def flush(self) -> list[Segment]: ...


class LiveSegments:
    """Open → segment → (on loss) flush, back off, reopen; numbering continues.

    Files (``retry=False``) are read once; errors propagate after the segments
    read so far. Live sources end at a clean end of stream only when their kind
    says so (HTTP/HLS VOD); ``max_reconnects`` consecutive failures (-1: unlimited)
    end them with an error.
    """

    def __init__(self, camera: str, opener: Callable[[float | None], VideoSource], stage: Stage,
                 tracker: StatusTracker, backoff: Backoff, *, retry: bool,
                 max_reconnects: int = -1, stop: threading.Event | None = None,
                 transcode: Callable[[int], Stage] | None = None) -> None:
        self.camera, self.opener, self.stage = camera, opener, stage
        self.tracker, self.backoff, self.retry = tracker, backoff, retry
        self.max_reconnects = max_reconnects
        self.stop = stop or threading.Event()
        self._transcode = transcode
        self._failures = 0
        self.last_end: float | None = None
        self._connected_once = False
        self.meter = StreamMeter()

    @classmethod
    def from_config(cls, uri: str, camera: str, *, settings: VideoSettings | None = None,
                    realtime: bool = False, observer: StatusObserver | None = None,
                    start_seq: int = 0, stop: threading.Event | None = None) -> LiveSegments:
        s = check_settings(settings or VideoSettings())
        spec = parse_uri(uri, s)
        check_camera(camera)
        backoff = RetryPolicy(s.reconnect_initial_s, s.reconnect_max_s, s.reconnect_jitter).delays()

        def make_transcoder(seq: int) -> Stage:
            return Transcoder(camera, s.segment_seconds, start_seq=seq)

        stage = make_transcoder(start_seq) if s.transcode else Segmenter.from_config(
            camera, s, start_seq=start_seq)
        def opener(not_before: float | None) -> VideoSource:
            return open_source(uri, camera, realtime=realtime, settings=s, not_before=not_before)

        return cls(camera, opener, stage,
                   StatusTracker(camera, observer), backoff, retry=spec.live,
                   max_reconnects=s.max_reconnects, stop=stop, transcode=make_transcoder)

    def __iter__(self) -> Iterator[Segment]:
        self.tracker.start()
        while not self.stop.is_set():
            source = self._connect()
            if source is None:
                break
            try:
                yield from self._pump(source)
            except SourceError as exc:
                self._lost(exc)
                continue
            finally:
                source.close()
            break
        self._end("stopped" if self.stop.is_set() else "end of stream")

    @property
    def profile(self) -> StreamProfile:
        """Codec, size, frame rate and keyframe interval measured so far."""
        return self.meter.profile

    def _connect(self) -> VideoSource | None:
        while not self.stop.is_set():
            try:
                source = self.opener(self.last_end)
            except SourceError as exc:
                self._lost(exc)
                continue
            self.tracker.move(StreamStatus.CONNECTED, source.info.codec)
            self.meter.connected(source.info.codec, source.info.width, source.info.height)
            self._connected_once = True
            self._pick_stage(source)
            return source
        return None

    def _pick_stage(self, source: VideoSource) -> None:
        if isinstance(self.stage, Segmenter) and source.info.codec not in REMUXABLE:
            if self._transcode is None:
                return
            log.warning("camera %s: codec %s cannot be remuxed into MPEG-TS; transcoding to "
                        "H.264", self.camera, source.info.codec)
            self.stage = self._transcode(self.stage.next_seq)

    def _pump(self, source: VideoSource) -> Iterator[Segment]:
        try:
            for tp in source:
                self.meter.add(tp.t, tp.keyframe)
                yield from self._produced(self._staged(self.stage.feed, tp))
                if self.stop.is_set():
                    break
        except SourceError:
            yield from self._produced(self._staged(self.stage.flush))
            raise
        yield from self._produced(self._staged(self.stage.flush))

    def _staged(self, step: Callable[..., list[Segment]], *args: TimedPacket) -> list[Segment]:
        """A stage step; libav refusing what the source sent is a source error (a live
        camera reconnects, a file ends with it), not a crash of the camera's thread."""
        try:
            return step(*args)
        except av.error.FFmpegError as exc:
            raise SourceError(f"camera {self.camera!r}: the stream could not be segmented: "
                              f"{exc.strerror or exc}") from exc

    def _produced(self, segments: list[Segment]) -> Iterator[Segment]:
        for seg in segments:
            self._failures = 0
            self.backoff.reset()
            self.last_end = seg.end if self.last_end is None else max(self.last_end, seg.end)
            yield replace(seg, closed_at=time.time())  # the waterfall's first event

    def _lost(self, exc: SourceError) -> None:
        """A failed open or read: give up (file, too many tries) or wait to retry.

        Before the first connection only transient failures are retried, so a wrong
        URL (404, unsupported data) fails at once instead of retrying forever."""
        transient = isinstance(exc, SourceUnreachable) or self._connected_once
        why = camera_reason(self.camera, exc)  # the status is the camera's: named once
        if not (self.retry and transient):
            self._end(why)
            raise exc
        if self._gave_up():
            self._end(f"gave up after {self._failures} reconnect attempts")
            raise SourceError(f"camera {self.camera!r}: gave up after {self._failures} reconnect "
                              f"attempts; last error: {why}") from exc
        if isinstance(exc, StreamStalled) and self.tracker.state is StreamStatus.CONNECTED:
            self.tracker.move(StreamStatus.STALLED, why)
        self._failures += 1
        delay = self.backoff.next()
        detail = f"attempt {self._failures} in {delay:.1f}s: {why}"
        self.tracker.move(StreamStatus.RECONNECTING, detail)
        self.stop.wait(delay)

    def _gave_up(self) -> bool:
        return self.max_reconnects >= 0 and self._failures >= self.max_reconnects

    def _end(self, detail: str) -> None:
        if self.tracker.state is not StreamStatus.ENDED:
            self.tracker.move(StreamStatus.ENDED, detail)


def segments(uri: str, camera: str, *, settings: VideoSettings | None = None,
             realtime: bool = False, observer: StatusObserver | None = None,
             start_seq: int = 0, stop: threading.Event | None = None) -> Iterator[Segment]:
    """Segments of a camera: opens ``uri``, segments it, and reconnects live sources."""
    return iter(LiveSegments.from_config(uri, camera, settings=settings, realtime=realtime,
                                         observer=observer, start_seq=start_seq, stop=stop))
