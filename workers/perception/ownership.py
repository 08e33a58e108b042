"""The bus-side core of perception: batches of records through ONE perceiver.

A worker owns some partitions of the segments topic, hence some cameras; the
embedded run owns them all. Every owned camera shares one
:class:`pipeline.perceiver.Perceiver`, so the frames of every segment in a batch,
whatever its camera, go through ONE encoder call.

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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from connectors.bus import messages as msg
from connectors.bus.base import Record
from pipeline.engine import QueryFailure
from pipeline.errors import MessageError
from pipeline.perceiver import Perceiver
from pipeline.scheduler import WALL_CLOCK_SLACK
from pipeline.skips import Skip
from pipeline.timings import Clock, segment_events
from pipeline.types import Answer, EncodedFrame, Frame, Segment, StandingQuery
from workers.perception.prefetch import DecodeAhead, Decoded, decode_record

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


class History(Protocol):
    """Reads the records that precede a record in its partition (the warm-up source)."""

    def before(self, record: Record, seconds: float) -> list[Record]: ...


@dataclass
class CoreStats:
    """What the core adds to its perceiver's counts (segments, frames and answers are
    the perceiver's): encoder calls, warm-ups, and the cameras it ever held."""

    encode_calls: int = 0
    warmups: int = 0
    warm_segments: int = 0
    cameras: set[str] = field(default_factory=set)


@dataclass
class BatchOutcome:
    """What one batch of records produced, in record order."""

    answers: list[Answer] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    encoded: dict[str, list[EncodedFrame]] = field(default_factory=dict)
    failed: list[tuple[Record, BaseException, str]] = field(default_factory=list)
    frames: int = 0
    query_failures: list[QueryFailure] = field(default_factory=list)
    """Queries set aside since the last batch (their answerer failed): the others went on."""
    skips: list[Skip] = field(default_factory=list)
    """Windows due but skipped (no frame: an outage's hole and its edges), one per run."""


Pending = list[tuple[Record, Segment, list[Frame], dict[str, float]]]
"""Records decoded, waiting for the batch's encoder call, each with its timings so far."""


class PerceiveCore:
    """Batches of records → one encoder call → answers; warms cold cameras first."""

    def __init__(
        self,
        perceiver: Perceiver,
        history: History | None = None,
        *,
        queries_topic: str | None = None,
    ) -> None:
        self.perceiver = perceiver
        self.history = history
        self.queries_topic = queries_topic
        self.stats = CoreStats()
        self._partition_of: dict[str, TopicPartition] = {}
        self._last_offset: dict[TopicPartition, int] = {}
        self._lock = threading.RLock()
        self._decode_ahead = DecodeAhead(lambda r: decode_record(r, perceiver.frames_of),
                                         is_segment=lambda r: r.topic != queries_topic)

    # -- the queries table ------------------------------------------------------
    def on_query(self, query_id: str, query: StandingQuery | None) -> None:
        """Apply one record of the compacted queries topic (``None`` = deleted)."""
        with self._lock:
            self.perceiver.on_query(query_id, query)

    # -- segments ---------------------------------------------------------------
    def handle_batch(
        self, records: Sequence[Record], *, clock: Clock | None = None,
        consumed: Sequence[float | None] | None = None, ahead: Sequence[Record] = (),
    ) -> BatchOutcome:
        """Every record in order; the segments between query records share one encode.

        Each answer carries the timings of the segment that made it due (``clock``: the
        batch's, started when the batch did; ``consumed``: per record, the monotonic time
        its consumer received it, None or absent: when the batch started). ``ahead``: the
        batch the caller hands over next, decoded meanwhile (:mod:`.prefetch`)."""
        out = BatchOutcome()
        clock = clock or Clock()
        start = clock.now()
        received = list(consumed or ())
        with self._lock:
            decoded = self._decode_ahead.take(records)
            pending: Pending = []
            for i, record in enumerate(records):
                try:
                    if record.topic == self.queries_topic:
                        pending = self._flush(pending, out, clock)
                        self.on_query(*msg.decode_query(record.key, record.value, record.headers))
                        continue
                    got = received[i] if i < len(received) else None
                    stamps = {"consumed": start if got is None else min(clock.at(got), start),
                              "batch_start": start}
                    pre = decoded[i] if decoded is not None else None
                    pending = self._admit(record, pending, out, stamps, clock, pre)
                except Exception as exc:  # a bad record is a dead letter, never a dead worker
                    out.failed.append((record, exc, self._stage(record)))
            self._decode_ahead.submit(ahead)  # after this batch's decodes: in record order
            self._flush(pending, out, clock)
            out.query_failures = self.perceiver.engine.take_failures()
            out.skips = self.perceiver.take_skips()
        return out

    def handle(self, record: Record) -> list[Answer]:
        """One record as a batch of one; its error (MessageError, DecodeError) raised."""
        out = self.handle_batch([record])
        if out.failed:
            raise out.failed[0][1]
        return out.answers

    def close(self) -> None:
        """End the decode-ahead thread (a decode in flight is finished, then dropped)."""
        self._decode_ahead.close()

    def owned(self) -> list[str]:
        """Cameras this worker holds state for."""
        with self._lock:
            return sorted(self._partition_of)

    def _stage(self, record: Record) -> str:
        return "queries" if record.topic == self.queries_topic else "perceive"

    def _admit(self, record: Record, pending: Pending, out: BatchOutcome,
               stamps: dict[str, float], clock: Clock, pre: Decoded | None = None) -> Pending:
        tp = (record.topic, record.partition)
        if self._last_offset.get(tp, -2) + 1 != record.offset:
            if any(self._partition_of.get(seg.camera) == tp for _, seg, _, _ in pending):
                pending = self._flush(pending, out, clock)  # read before the break: answer it
            self._cool_partition(tp)
        self._last_offset[tp] = record.offset
        segment = (pre.take_segment() if pre is not None
                   else msg.decode_segment(record.key, record.value, record.headers))
        if segment.end > time.time() + WALL_CLOCK_SLACK:  # would stop the camera till then
            raise MessageError(f"segment message: start: {segment.start:.0f} is more than a "
                               "day after the wall clock; a stream time is a file's seconds "
                               "or epoch seconds up to now")
        if segment.camera not in self._partition_of:
            self._adopt(segment.camera, tp, record, segment)
        frames = pre.take_frames() if pre is not None else self.perceiver.frames_of(segment)
        stamps = {**segment_events(segment.end, segment.closed_at, record.timestamp),
                  **stamps, "decoded": clock.now()}
        pending.append((record, segment, frames, stamps))
        return pending

    def _flush(self, pending: Pending, out: BatchOutcome, clock: Clock) -> Pending:
        """ONE encoder call for every pending frame, then each segment's due windows."""
        if not pending:
            return []
        try:
            encoded = self.perceiver.encode_batch([frames for _, _, frames, _ in pending])
        except Exception as exc:  # the encoder refused the batch: nothing of it is answered
            out.failed.extend((record, exc, "perceive") for record, _, _, _ in pending)
            return []
        self.stats.encode_calls += 1
        done = clock.now()
        for step in _steps([segment.camera for _, segment, _, _ in pending]):
            admitted = []
            for i in step:
                try:
                    admitted.append((i, self.perceiver.admit(pending[i][1], encoded[i])))
                except Exception as exc:
                    out.failed.append((pending[i][0], exc, "perceive"))
            self.perceiver.look_ahead([due for _, dues in admitted for due in dues])
            for i, dues in admitted:
                (record, segment, _, stamps), frames = pending[i], encoded[i]
                try:
                    answers = self.perceiver.answer(dues)
                except Exception as exc:
                    out.failed.append((record, exc, "perceive"))
                    continue
                timings = {**stamps, "encoded": done, "answered": clock.now()}
                out.answers.extend(replace(a, timings={**a.timings, **timings}) for a in answers)
                out.segments.append(segment)
                out.encoded.setdefault(segment.camera, []).extend(frames)
                out.frames += len(frames)
        return []

    def _cool_partition(self, tp: TopicPartition) -> None:
        for camera in [c for c, p in self._partition_of.items() if p == tp]:
            self.perceiver.forget(camera)
            del self._partition_of[camera]

    def _adopt(self, camera: str, tp: TopicPartition, record: Record, seg: Segment) -> None:
        self._partition_of[camera] = tp
        self.stats.cameras.add(camera)
        if self.history is None:
            return
        horizon = self.perceiver.scheduler.horizon(camera)
        if horizon <= 0:
            return
        earlier = self._earlier_segments(record, seg, horizon)
        self._warm(earlier)
        self.stats.warmups += 1
        self.stats.warm_segments += len(earlier)
        log.info(
            "camera %s: warmed with %d segment(s) before offset %d",
            camera,
            len(earlier),
            record.offset,
        )

    def _warm(self, segments: list[Segment]) -> None:
        """Decode the earlier segments, encode them in one call, buffer them unanswered."""
        decoded: list[tuple[Segment, list[Frame]]] = []
        for segment in segments:
            try:
                decoded.append((segment, self.perceiver.frames_of(segment)))
            except Exception as exc:  # a bad old segment must not block the camera
                log.warning("warm-up skips camera %s seq %d: %s", segment.camera, segment.seq, exc)
        if not decoded:
            return
        encoded = self.perceiver.encode_batch([frames for _, frames in decoded])
        self.stats.encode_calls += 1
        for (segment, _), frames in zip(decoded, encoded, strict=True):
            self.perceiver.warm(segment, frames)

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


def _steps(cameras: list[str]) -> list[list[int]]:
    """Indexes of a batch's segments in steps: each camera's first segment, then each
    one's second, ...; the windows of one step are looked ahead at together, and a
    camera's segments still enter its buffer in order, each answered before the next."""
    steps: list[list[int]] = []
    seen: dict[str, int] = {}
    for i, camera in enumerate(cameras):
        n = seen[camera] = seen.get(camera, -1) + 1
        if n == len(steps):
            steps.append([])
        steps[n].append(i)
    return steps
