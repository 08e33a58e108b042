"""How big the store is: rows and bytes per table, and per camera for what grows.

Table bytes are what the database reports for the table with its indexes
(PostgreSQL ``pg_total_relation_size``; SQLite's ``dbstat`` pages). Per camera,
bytes are the stored size of that camera's rows (PostgreSQL ``pg_column_size`` of
the row; SQLite the lengths of its values), the camera's stream span is the time its
rows cover, and ``bytes_per_hour`` divides one by the other: what an hour of one
camera costs in that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store.frames.schema import FrameRow
from connectors.store.models import AnswerRow, EvidenceRow

PER_CAMERA: dict[str, tuple[Any, str]] = {
    "frames": (FrameRow.__table__, "t"),
    "answers": (AnswerRow.__table__, "window_end"),
    "evidence": (EvidenceRow.__table__, "window_end"),
}


@dataclass(frozen=True)
class TableStats:
    """One table's rows, and its ``bytes`` as the database reports them for the table
    with its indexes."""

    table: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class CameraStats:
    """One camera's rows of one table: their stored ``bytes`` (no indexes) and
    ``span_s``, the stream time they cover."""

    table: str
    camera: str
    rows: int
    bytes: int
    span_s: float

    @property
    def bytes_per_hour(self) -> float | None:
        return None if self.span_s <= 0 else self.bytes * 3600.0 / self.span_s


def table_stats(engine: Engine) -> list[TableStats]:
    """Rows and bytes of every table of the store that exists."""
    names = sorted(n for n in sa.inspect(engine).get_table_names() if n != "alembic_version")
    with engine.connect() as conn:
        sizes = _table_bytes(conn, names)
        return [TableStats(n, _rows(conn, sa.table(n)), sizes.get(n, 0)) for n in names]


def camera_stats(engine: Engine) -> list[CameraStats]:
    """Rows, bytes and stream span per camera of frames, answers and evidence."""
    out: list[CameraStats] = []
    with engine.connect() as conn:
        for name, (table, time_col) in PER_CAMERA.items():
            size = _row_bytes(conn, table)
            t = table.c[time_col]
            stmt = sa.select(
                table.c.camera_id, sa.func.count(), size, sa.func.min(t), sa.func.max(t)
            ).group_by(table.c.camera_id).order_by(table.c.camera_id)
            for camera, rows, nbytes, lo, hi in conn.execute(stmt):
                span = float(hi - lo) if lo is not None else 0.0
                out.append(CameraStats(name, camera, int(rows), int(nbytes or 0), span))
    return out


def _rows(conn: Any, table: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _table_bytes(conn: Any, names: list[str]) -> dict[str, int]:
    if conn.dialect.name == "postgresql":
        return {
            n: int(conn.execute(sa.text("SELECT pg_total_relation_size(:t)"), {"t": n}).scalar())
            for n in names
        }
    sql = sa.text(
        "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s "
        "JOIN sqlite_master AS m ON m.name = s.name GROUP BY m.tbl_name"
    )
    return {str(t): int(b or 0) for t, b in conn.execute(sql)}


def _row_bytes(conn: Any, table: sa.Table) -> Any:
    """An expression summing the stored size of a table's rows."""
    if conn.dialect.name == "postgresql":
        return sa.func.sum(sa.func.pg_column_size(sa.literal_column(f"{table.name}.*")))
    parts = [sa.func.coalesce(sa.func.length(c), 0) for c in table.c]
    return sa.func.sum(sum(parts[1:], parts[0]))
