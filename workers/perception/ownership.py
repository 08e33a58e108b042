"""The bus-side core of a perception worker, free of Faust so it is testable alone.

A worker owns some partitions of the segments topic, hence some cameras. Each owned
camera gets its own :class:`pipeline.perceiver.Perceiver` (the embedded run's
decode → encode once → buffer → scheduler → engine path) sharing one engine.

Ownership changes (a rebalance, a restart, a replay after a crash) show up as a
break in a partition's offsets: the next record of partition p is not the one after
the last record this worker handled there. Every camera of that partition is then
*cold*: its state is dropped, and before its record is answered the camera's buffer
is warmed from the segments that precede the record in the topic (the last window),
advancing its schedule without answering — those windows were answered by whoever
owned the camera then (answers are produced before offsets are committed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from connectors.bus import messages as msg
from connectors.bus.base import Record
from pipeline.engine import encode_frames
from pipeline.errors import MessageError
from pipeline.perceiver import Perceiver
from pipeline.types import Answer, Segment, StandingQuery

log = logging.getLogger(__name__)

PerceiverFactory = Callable[[Iterable[StandingQuery]], Perceiver]


class History(Protocol):
    """Reads the records that precede a record in its partition (the warm-up source)."""

    def before(self, record: Record, seconds: float) -> list[Record]: ...


@dataclass
class CoreStats:
    """What a worker did since it started (logged, and read by tests)."""

    segments: int = 0
    frames: int = 0
    answers: int = 0
    warmups: int = 0
    warm_segments: int = 0
    cameras: set[str] = field(default_factory=set)


class PerceiveCore:
    """Routes segment records to per-camera perceivers; warms cold cameras first."""

    def __init__(self, make_perceiver: PerceiverFactory, history: History | None = None) -> None:
        self.make_perceiver = make_perceiver
        self.history = history
        self.queries: dict[str, StandingQuery] = {}
        self.stats = CoreStats()
        self._perceivers: dict[str, Perceiver] = {}
        self._partition_of: dict[str, tuple[str, int]] = {}
        self._last_offset: dict[tuple[str, int], int] = {}
        self._lock = threading.RLock()

    # -- the queries table ------------------------------------------------------
    def on_query(self, query_id: str, query: StandingQuery | None) -> None:
        """Apply one record of the compacted queries topic (``None`` = deleted)."""
        with self._lock:
            if query is None:
                self.queries.pop(query_id, None)
            else:
                self.queries[query_id] = query
            for perceiver in self._perceivers.values():
                perceiver.on_query(query_id, query)

    # -- segments ---------------------------------------------------------------
    def handle(self, record: Record) -> list[Answer]:
        """The answers one segment record makes due; MessageError/DecodeError propagate."""
        with self._lock:
            tp = (record.topic, record.partition)
            if self._last_offset.get(tp, -2) + 1 != record.offset:
                self._cool_partition(tp)
            self._last_offset[tp] = record.offset
            segment = msg.decode_segment(record.key, record.value, record.headers)
            perceiver = self._perceivers.get(segment.camera)
            if perceiver is None:
                perceiver = self._adopt(segment.camera, tp, record, segment)
            frames_before = perceiver.stats.frames
            answers = perceiver.on_segment(segment)
            self.stats.frames += perceiver.stats.frames - frames_before
            self.stats.segments += 1
            self.stats.answers += len(answers)
            return answers

    def owned(self) -> list[str]:
        """Cameras this worker holds state for."""
        with self._lock:
            return sorted(self._perceivers)

    def _cool_partition(self, tp: tuple[str, int]) -> None:
        for camera in [c for c, p in self._partition_of.items() if p == tp]:
            self._perceivers.pop(camera, None)
            del self._partition_of[camera]

    def _adopt(self, camera: str, tp: tuple[str, int], record: Record, seg: Segment) -> Perceiver:
        perceiver = self.make_perceiver(self.queries.values())
        self._perceivers[camera] = perceiver
        self._partition_of[camera] = tp
        self.stats.cameras.add(camera)
        horizon = perceiver.scheduler.horizon(camera)
        if self.history is not None and horizon > 0:
            earlier = self._earlier_segments(record, seg, horizon)
            for old in earlier:
                warm(perceiver, old)
            self.stats.warmups += 1
            self.stats.warm_segments += len(earlier)
            log.info(
                "camera %s: warmed with %d segment(s) before offset %d",
                camera,
                len(earlier),
                record.offset,
            )
        return perceiver

    def _earlier_segments(self, record: Record, seg: Segment, horizon: float) -> list[Segment]:
        assert self.history is not None
        cutoff = seg.start - horizon
        out: list[Segment] = []
        for r in self.history.before(record, horizon):
            if r.key != record.key or r.offset >= record.offset:
                continue
            try:
                old = msg.decode_segment(r.key, r.value, r.headers)
            except MessageError:
                continue  # already dead-lettered when it was first processed
            if old.end > cutoff and old.start < seg.start:
                out.append(old)
        return sorted(out, key=lambda s: (s.start, s.seq))


def warm(perceiver: Perceiver, segment: Segment) -> None:
    """Buffer a segment's frames and advance the schedule without answering."""
    try:
        frames = perceiver.decode(segment, perceiver.sample_fps)
    except Exception as exc:  # a bad old segment must not block the camera
        log.warning("warm-up skips camera %s seq %d: %s", segment.camera, segment.seq, exc)
        return
    buffer = perceiver.buffers[segment.camera]
    for encoded in encode_frames(perceiver.encoder, frames):
        buffer.add(encoded)
    perceiver.scheduler.advance(segment.camera, segment.end, since=segment.start)
