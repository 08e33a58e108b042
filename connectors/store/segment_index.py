"""Where each camera's segments sit in the ``segments`` topic, by stream time.

Segment records carry the produce time as their Kafka timestamp, not the stream time
(a file camera's clock starts at 0), so the clip worker cannot seek by time. As
segments pass, it writes one row per record here — (camera, stream start, end, lead)
→ (topic, partition, offset) — and a clip's segments are one indexed range query
away. A table, not a compacted topic: the lookup is a range over time, which SQL
answers from an index while a topic would have to be read whole into every clip
worker; the store is already shared by every process and pruned by retention. Rows
outlive their records only until the topic's retention passes (see ``prune``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from connectors.store.alerts_rows import insert_for
from connectors.store.db import store_errors
from connectors.store.models import ROW_ID, Base


class SegmentIndexRow(Base):
    __tablename__ = "segment_index"
    __table_args__ = (Index("ix_segment_index_time", "camera_id", "start_s"),)

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    kafka_offset: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(ROW_ID)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    lead: Mapped[float] = mapped_column(Float, default=0.0)
    produced_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class IndexedSegment:
    """One segment record's place and times."""

    camera: str
    seq: int
    start: float
    end: float
    lead: float
    topic: str
    partition: int
    offset: int
    produced_at: float


class SegmentIndex:
    """Writes and reads the ``segment_index`` rows."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def add(self, segments: Iterable[IndexedSegment]) -> int:
        """Record these places (a record seen again is skipped); returns new rows."""
        rows = [{"camera_id": s.camera, "seq": s.seq, "start_s": s.start, "end_s": s.end,
                 "lead": s.lead, "topic": s.topic, "partition": s.partition,
                 "kafka_offset": s.offset, "produced_at": s.produced_at} for s in segments]
        if not rows:
            return 0
        with store_errors("indexing segments"), Session(self.engine) as s, s.begin():
            stmt = insert_for(s, SegmentIndexRow).values(rows).on_conflict_do_nothing(
                index_elements=["topic", "partition", "kafka_offset"],
            ).returning(SegmentIndexRow.kafka_offset)  # not rowcount: -1 on psycopg
            return len(s.execute(stmt).all())

    def covering(self, camera: str, start: float, end: float) -> list[IndexedSegment]:
        """The camera's segments overlapping ``[start, end]`` (carried prefix counted),
        in stream order; a segment produced twice is listed once (the newest record)."""
        stmt = select(SegmentIndexRow).where(
            SegmentIndexRow.camera_id == camera, SegmentIndexRow.end_s > start,
            SegmentIndexRow.start_s - SegmentIndexRow.lead <= end,
        ).order_by(SegmentIndexRow.start_s, SegmentIndexRow.kafka_offset)
        with store_errors("reading the segment index"), Session(self.engine) as s:
            found = {(r.start_s, r.seq): _of(r) for r in s.scalars(stmt)}
        return list(found.values())

    def newest_end(self, camera: str) -> float | None:
        stmt = select(func.max(SegmentIndexRow.end_s)).where(SegmentIndexRow.camera_id == camera)
        with store_errors("reading the segment index"), Session(self.engine) as s:
            value = s.scalar(stmt)
        return None if value is None else float(value)

    def prune(self, produced_before: float) -> int:
        """Forget records produced before this wall time (the topic has deleted them)."""
        stmt = delete(SegmentIndexRow).where(SegmentIndexRow.produced_at < produced_before)
        with store_errors("pruning the segment index"), Session(self.engine) as s, s.begin():
            return int(s.execute(stmt).rowcount or 0)


def _of(r: SegmentIndexRow) -> IndexedSegment:
    return IndexedSegment(r.camera_id, r.seq, r.start_s, r.end_s, r.lead, r.topic, r.partition,
                          r.kafka_offset, r.produced_at)
