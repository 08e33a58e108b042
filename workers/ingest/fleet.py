"""Many cameras, one ingest process: a reader thread per camera, one sink, one producer.

Each camera's reader runs its own :class:`~connectors.video.resilience.LiveSegments`
(its own connection, segmenter, stall detection and reconnects) and hands each closed
segment to one bounded queue. The pump (the calling thread) adds everything queued to
the one sink and flushes once, so the segments of all cameras that closed one meanwhile
go out in one produce request, acknowledged (acks=all) before they count as ingested.

One camera's failure stays its own: an error its reconnects do not cover ends that
reader, which is started again after a backoff capped at :data:`RESTART`'s maximum
(within 5 s; a file source's error is final), while the other cameras go on; a segment
the sink refuses (too large) is logged and skipped. What is process-wide — the sink
itself failing — ends the process, and its supervisor (compose ``restart:``, systemd)
starts it again; how many cameras share that fate is ``--max-cameras``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.retry import RetryPolicy
from pipeline.errors import ConfigError, camera_reason
from workers.config import Settings
from workers.ingest.cameras import CameraSource
from workers.ingest.process import IngestReporter, flush
from workers.ops.heartbeat import Heartbeat

if TYPE_CHECKING:
    from connectors.kafka.status import StatusPublisher
    from connectors.video.base import SegmentSink
    from pipeline.types import Segment

log = logging.getLogger(__name__)
RESTART = RetryPolicy(initial=0.5, maximum=4.0, jitter=0.2)
"""Delays before a failed camera's reader starts again (capped under 5 s)."""
Queued = tuple["CameraRun", "Segment", Any]


@dataclass(eq=False)
class CameraRun:
    """One camera of the fleet: its reader's stop, counts and last error."""

    source: CameraSource
    report: IngestReporter
    stop: threading.Event = field(default_factory=threading.Event)
    queued: int = 0
    segments: int = 0
    bytes: int = 0
    skipped: int = 0
    restarts: int = 0
    error: BaseException | None = None
    failed: bool = False  # the reader ended on an error restarting could not help
    profile: Any = None

    def summary(self) -> str:
        stream = self.profile.describe() if self.profile is not None else "no stream"
        line = (f"ingested {self.segments} segments ({self.bytes / 1e6:.1f} MB) as "
                f"{self.source.id}: {stream}")
        if self.restarts:
            line += f"; reader restarted {self.restarts} times"
        if self.error is not None:
            line += f"; last error: {camera_reason(self.source.id, self.error)}"
        return line


@dataclass(eq=False)
class IngestFleet:
    """Several cameras into one sink; ``run`` returns once every reader has ended."""

    cameras: Sequence[CameraSource]
    settings: Settings
    sink: SegmentSink
    realtime: bool = False
    max_segments: int | None = None
    say: Callable[[str], None] = lambda _msg: None
    status_for: Callable[[str], StatusPublisher | None] = lambda _camera: None
    heartbeat: Heartbeat = field(default_factory=Heartbeat.from_env)
    runs: list[CameraRun] = field(init=False)
    stopping: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ConfigError("cameras", "none", "at least one ID=URI")
        self.queue: queue.Queue[Queued] = queue.Queue(maxsize=max(8, 2 * len(self.cameras)))
        self.runs = [CameraRun(c, IngestReporter(c.id, self._say(c.id), self.status_for(c.id),
                                                  self.heartbeat)) for c in self.cameras]
        self._threads: list[threading.Thread] = []

    def _say(self, camera: str) -> Callable[[str], None]:
        return lambda line: self.say(f"[{camera}] {line}")

    # -- the pump (the calling thread) ----------------------------------------------
    def run(self) -> list[CameraRun]:
        """Read every camera until each ended (files), or ``stop()`` / Ctrl-C."""
        self._threads = [threading.Thread(target=self._read, args=(r,), daemon=True,
                                          name=f"ingest-{r.source.id}") for r in self.runs]
        for t in self._threads:
            t.start()
        try:
            while not self.stopping.is_set():
                batch = self._take(timeout=0.2)
                if batch:
                    self._write(batch)
                elif not any(t.is_alive() for t in self._threads) and self.queue.empty():
                    break
        finally:
            self._shut_down()
        return self.runs

    def stop(self) -> None:
        """End the run: readers stop, what they queued is written, the sink closed."""
        self.stopping.set()

    def _take(self, timeout: float) -> list[Queued]:
        try:
            batch = [self.queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                return batch

    def _write(self, batch: list[Queued]) -> None:
        """Everything queued into the sink, one flush (acknowledged), then reported."""
        added = []
        for run, seg, profile in batch:
            try:
                self.sink.add(seg)
                added.append((run, seg, profile))
            except Exception as exc:  # one camera's bad segment never stops the others
                run.skipped += 1
                log.error("camera %s: segment %d not written: %s", run.source.id, seg.seq, exc)
        flush(self.sink)
        for run, seg, profile in added:
            run.segments, run.bytes = run.segments + 1, run.bytes + len(seg.data)
            run.report.segment(seg, profile)

    def _shut_down(self) -> None:
        self.stopping.set()
        for run in self.runs:
            run.stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
        try:
            leftover = self._take(timeout=0.0)
            if leftover:
                self._write(leftover)
        finally:
            try:
                self.sink.close()
            finally:
                for run in self.runs:
                    run.report.close()

    # -- one reader per camera ------------------------------------------------------
    def _read(self, run: CameraRun) -> None:
        """The camera's segments onto the queue; restarted on its own after an error."""
        backoff = RESTART.delays()
        seq = self._first_seq(run.source.id)
        while not run.stop.is_set():
            live = None
            try:
                live = self._open(run, seq)
                for seg in self._segments(live, run):
                    seq = seg.seq + 1
                return  # the source ended (a file, an HLS VOD) or was stopped
            except Exception as exc:
                run.error = exc
                log.error("camera %s: reader failed: %s", run.source.id,
                          camera_reason(run.source.id, exc))
                if live is None or not live.retry or isinstance(exc, ConfigError):
                    run.failed = True  # a file's error, a bad URI: restarting cannot help
                    return
            run.restarts += 1
            if run.stop.wait(backoff.next()):
                return

    def _open(self, run: CameraRun, seq: int) -> Any:
        from connectors.video.resilience import LiveSegments

        return LiveSegments.from_config(
            run.source.uri, run.source.id, settings=self.settings.video,
            realtime=self.realtime, start_seq=seq, stop=run.stop, observer=run.report.observe)

    def _segments(self, live: Any, run: CameraRun) -> Iterator[Segment]:
        produced = iter(live)
        try:
            for seg in produced:
                run.profile = live.profile
                if not self._put((run, seg, live.profile)):
                    return
                run.queued += 1
                yield seg
                if self.max_segments is not None and run.queued >= self.max_segments:
                    run.stop.set()
                    return
        finally:
            produced.close()  # a generator: releases the source

    def _put(self, item: Queued) -> bool:
        """Queue one segment, waiting while the sink is behind; False once stopping."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _first_seq(self, camera: str) -> int:
        next_seq = getattr(self.sink, "next_seq", None)
        return int(next_seq(camera)) if callable(next_seq) else 0
