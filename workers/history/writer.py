"""The frame writer: encoded frames into the frame index, and retention, in batches.

It is the perception handler's ``on_encoded`` observer in the embedded run (the
process that writes answers), and the sink side of the ``frames`` topic in Kafka mode.
Each call converts the batch's frames to index rows (float16 embedding, JPEG
thumbnail, pooled grid), adds them and flushes them in one transaction; a busy
database pushes back and the rows wait for the next call (bounded: past
``max_pending`` the oldest batch is dropped and counted, never the run). After a
write the pruner runs when its interval has passed, on the cameras' stream clocks. A
frame the store refuses (a value it cannot hold) is logged and left out; the others of
its batch are written one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from connectors.store.clips import ClipFiles
from connectors.store.frames.index import FrameIndex
from connectors.store.retention import Pruner, PruneResult, RetentionPolicy
from pipeline.errors import BackpressureError, StoreDataError, StoreError
from pipeline.history.duration import parse_duration
from pipeline.history.records import IndexedFrame, IndexPolicy, to_indexed
from pipeline.types import EncodedFrame
from workers.config import HistorySettings, RetentionSettings, Settings

log = logging.getLogger(__name__)


def index_policy(history: HistorySettings) -> IndexPolicy:
    """The index policy of the ``history`` settings section."""
    return IndexPolicy(thumb_side=history.thumb_side, grid_max=history.grid_max)


def retention_policy(retention: RetentionSettings) -> RetentionPolicy:
    """The retention policy of the ``retention`` settings section."""

    def keep(name: str) -> float | None:
        value = getattr(retention, name)
        return parse_duration(value, f"retention.{name}", most=float("inf")) if value else None

    return RetentionPolicy(
        frames=keep("frames"),
        answers=keep("answers"),
        evidence=keep("evidence"),
        rollups=keep("rollups"),
        incidents=keep("incidents"),
        batch=retention.batch,
        interval=retention.interval_s,
    )


@dataclass(eq=False)
class FrameWriter:
    """Writes encoded frames to the index (if enabled) and enforces retention."""

    index: FrameIndex | None
    model_id: str
    policy: IndexPolicy
    pruner: Pruner | None = None
    dropped: int = field(default=0, init=False)
    refused: list[tuple[IndexedFrame, StoreDataError]] = field(default_factory=list, init=False)
    """The frames of the last :meth:`write` the store refused (logged; the frames topic's
    handler dead-letters their records)."""

    def on_encoded(self, frames: Mapping[str, Sequence[EncodedFrame]]) -> None:
        """The perception hook: one batch's encoded frames per camera."""
        batch = [f for fs in frames.values() for f in fs]
        self.write(
            [to_indexed(f, self.model_id, self.policy) for f in batch] if self.index else [],
            stream=[(f.camera, f.t) for f in batch],
        )

    def write(self, rows: Sequence[IndexedFrame], stream: Iterable[tuple[str, float]] = ()) -> None:
        """Store rows (already converted, e.g. from the frames topic), then maybe prune."""
        self.refused.clear()
        if self.index is not None and rows:
            self._add(rows)
            self._flush()
        if self.pruner is not None:
            for camera, t in [*stream, *((r.camera, r.t) for r in rows)]:
                self.pruner.observe(camera, t)
            _say_pruned(self.pruner.maybe_prune())

    def close(self) -> None:
        """Write what is still waiting, then prune once more (end of a run: a file's
        stream moves on many seconds per pruning interval, so the last one may be old)."""
        if self.index is not None:
            self._flush()
        if self.pruner is not None:
            _say_pruned(self.pruner.prune())

    def _add(self, rows: Sequence[IndexedFrame]) -> None:
        assert self.index is not None
        try:
            self.index.add(rows)
        except BackpressureError:
            self._flush()
            try:
                self.index.add(rows)
            except BackpressureError:
                self.dropped += len(rows)
                log.warning("frame index: %d frames not indexed (database busy)", len(rows))

    def _flush(self) -> None:
        assert self.index is not None
        try:
            try:
                self.index.flush()
            except StoreDataError:  # a frame it cannot hold must not block those after it
                self.index.flush_each()
        except (BackpressureError, StoreError) as exc:
            log.warning("frame index: write postponed: %s", str(exc).splitlines()[0])
        for frame, exc in self.index.take_refused():
            log.warning("frame index: frame of %s at %s refused: %s", frame.camera, frame.t, exc)
            self.refused.append((frame, exc))


def build_writer(settings: Settings, engine: Engine, model_id: str) -> FrameWriter:
    """The writer the settings ask for (index on/off, retention) over ``engine``'s store."""
    index = FrameIndex(engine) if settings.history.index else None
    policy = retention_policy(settings.retention)
    files = ClipFiles(Path(settings.clips.dir))
    pruner = Pruner(engine, policy, clip_files=files) if policy.enabled else None
    return FrameWriter(index, model_id, index_policy(settings.history), pruner)


def _say_pruned(result: PruneResult | None) -> None:
    if result is not None and result.total:
        log.info("retention: deleted %s", result.deleted)
