"""The bus-agnostic perception core shared by the embedded run and the Kafka worker.

Segment → frames → encode once per frame → camera buffer → due queries → answers.
Nothing here knows which bus delivered the segment or where the answers go.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any, Protocol, cast

from pipeline.answerers import Answerer, build_answerer
from pipeline.answerers.base import ImageEncoder
from pipeline.answerers.states import StateProvider
from pipeline.buffer import BufferLimits, BufferSet
from pipeline.engine import Engine, encode_frames
from pipeline.extensions import load_entry_points
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Due, Scheduler
from pipeline.skips import Skip
from pipeline.types import Answer, EncodedFrame, Frame, Segment, StandingQuery

DecodeFn = Callable[[Segment, float], list[Frame]]


def query_id(
    question: str,
    cameras: Sequence[str],
    every: float,
    window: float,
    answerer: str,
    settings: dict[str, Any] | None = None,
) -> str:
    """A stable id: the same question, cameras, timing and settings are the same query."""
    parts: list[Any] = [" ".join(question.split()), sorted(cameras), every, window, answerer]
    if settings:
        parts.append(settings)
    key = json.dumps(parts, sort_keys=True, default=str)
    return "q-" + hashlib.sha256(key.encode()).hexdigest()[:12]


class KeepsBaselines(Protocol):
    """An answerer whose ``keeps_baselines`` is set: it is told where its state lives."""

    def use_states(self, states: StateProvider) -> None: ...


class AnswererCache:
    """Builds each (type, settings) answerer once and reuses it for every window; the
    types are :func:`pipeline.extensions.answerer_types` (installed plugins included)."""

    def __init__(
        self, encoder: Any, vlm_spec: str = "", states: StateProvider | None = None
    ) -> None:
        self.encoder = encoder
        self.vlm_spec = vlm_spec
        self.states = states  # where clip baselines live (the store, in a worker)
        self._built: dict[str, Answerer] = {}
        load_entry_points()

    def __call__(self, type_: str, settings: dict[str, Any]) -> Answerer:
        key = json.dumps([type_, settings], sort_keys=True, default=str)
        if key not in self._built:
            built = build_answerer(type_, settings, encoder=self.encoder, vlm_spec=self.vlm_spec)
            if self.states is not None and built.keeps_baselines:
                cast(KeepsBaselines, built).use_states(self.states)
            self._built[key] = built
        return self._built[key]


@dataclass
class PerceiverStats:
    segments: int = 0
    frames: int = 0
    answers: int = 0
    dead_letters: int = 0
    unsent: int = 0
    """Answers given but dead-lettered instead of sent (they could not be encoded)."""
    stream_time: dict[str, float] = field(default_factory=dict)
    failed_queries: dict[str, str] = field(default_factory=dict)
    """Query id → why it was set aside (its first failure): it answers no more windows."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Reason → (query, window)s due but skipped (:mod:`pipeline.skips`), never answered."""


@dataclass(eq=False)
class Perceiver:
    """Segment → frames → encode once → buffer → due queries → answers (bus-agnostic)."""

    encoder: ImageEncoder
    engine: Engine
    scheduler: Scheduler
    decode: DecodeFn
    _: KW_ONLY
    sample_fps: float = 1.0
    buffers: BufferSet = None  # type: ignore[assignment]  # None: fit to the schedule
    stats: PerceiverStats = field(default_factory=PerceiverStats, init=False)

    def __post_init__(self) -> None:
        if self.buffers is None:
            self.buffers = BufferSet(self._limits())

    def _limits(self) -> BufferLimits:
        return BufferLimits(horizon=max(self.scheduler.horizon(), 1.0) + 2.0)

    def on_query(self, query_id: str, query: StandingQuery | None) -> None:
        """Apply one record of the compacted queries table."""
        if query is None:
            self.scheduler.remove(query_id)
        else:
            self.scheduler.put(query)
            self.engine.prepare(query)  # a query that cannot be built fails now, alone
        horizon = max(self.scheduler.horizon(), 1.0) + 2.0
        if horizon > self.buffers.limits.horizon:
            self.buffers.set_limits(replace(self.buffers.limits, horizon=horizon))

    def forget(self, camera: str) -> None:
        """Drop ``camera``'s frames and schedule (it changed hands; see ownership)."""
        if camera in self.buffers:
            self.buffers[camera].clear()
        self.scheduler.forget_camera(camera)
        self.stats.stream_time.pop(camera, None)

    def warm(self, segment: Segment, encoded: Sequence[EncodedFrame]) -> None:
        """Buffer an earlier segment's frames and advance its schedule without answering:
        those windows were answered by whoever owned the camera then."""
        buffer = self.buffers[segment.camera]
        for frame in encoded:
            buffer.add(frame)
        self.scheduler.advance(segment.camera, segment.end, since=segment.start)
        self.scheduler.skips.drop(segment.camera)  # nor were those skipped here

    def on_segment(self, segment: Segment) -> list[Answer]:
        """Everything one segment makes due, evaluated (its skipped windows taken too)."""
        answers = self.after_encode(segment, self.encode_batch([self.frames_of(segment)])[0])
        self.take_skips()
        return answers

    def frames_of(self, segment: Segment) -> list[Frame]:
        """The segment's frames on the sampling grid (DecodeError on a bad segment)."""
        return self.decode(segment, self.sample_fps)

    def encode_batch(self, per_segment: Sequence[Sequence[Frame]]) -> list[list[EncodedFrame]]:
        """The frames of several segments (any cameras) in ONE encoder call, split back."""
        encoded = encode_frames(self.encoder, [f for frames in per_segment for f in frames])
        out, i = [], 0
        for frames in per_segment:
            out.append(encoded[i : i + len(frames)])
            i += len(frames)
        return out

    def after_encode(self, segment: Segment, encoded: Sequence[EncodedFrame]) -> list[Answer]:
        """Buffer one segment's encoded frames; evaluate what that makes due."""
        return self.answer(self.admit(segment, encoded))

    def admit(self, segment: Segment, encoded: Sequence[EncodedFrame]) -> list[Due]:
        """Buffer one segment's encoded frames; the windows that makes due."""
        buffer = self.buffers[segment.camera]
        buffer.pin(self.scheduler.needed_from(segment.camera, segment.start))
        for frame in encoded:
            buffer.add(frame)
        self.stats.segments += 1
        self.stats.frames += len(encoded)
        self.stats.stream_time[segment.camera] = segment.end
        return list(self.scheduler.advance(segment.camera, segment.end, since=segment.start))

    def look_ahead(self, dues: Sequence[Due]) -> None:
        """Batch the answerers' model work for the windows of one step (several segments,
        any cameras) before they are answered one segment at a time."""
        self.engine.look_ahead([(d, self.buffers[d.camera].window(d.start, d.end))
                                for d in dues])

    def answer(self, dues: Sequence[Due]) -> list[Answer]:
        """Evaluate admitted windows; one without a frame is skipped as ``gap`` (as
        ``sparse`` when it is shorter than the sampling interval)."""
        answers: list[Answer] = []
        for due in dues:
            window = self.buffers[due.camera].window(due.start, due.end)
            if window:
                answers.extend(self.engine.evaluate(due, window))
            else:
                sparse = (due.end - due.start) * self.sample_fps < 1 - 1e-9
                self.scheduler.skip_empty(due, "sparse" if sparse else "gap")
        self.stats.answers += len(answers)
        return answers

    def take_skips(self) -> list[Skip]:
        """The skip records since the last call (one per run of windows), each logged once
        and counted in :attr:`PerceiverStats.skipped`; take them after a batch's last
        segment, so a hole and the empty windows at its edges are one record."""
        skips = self.scheduler.skips.take()
        for skip in skips:
            self.stats.skipped[skip.reason] = self.stats.skipped.get(skip.reason, 0) + skip.windows
        return skips


def build_perceiver(
    encoder: Any,
    answerers: AnswererCache,
    selection: SelectionConfig,
    scheduler: Scheduler,
    decode: DecodeFn,
    sample_fps: float,
) -> Perceiver:
    """The perceiver with a fresh engine around ``encoder``."""
    engine = Engine(encoder, answerers, selection)
    return Perceiver(encoder, engine, scheduler, decode, sample_fps=sample_fps)
