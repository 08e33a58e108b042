"""64-bit ids on PostgreSQL: answer, dead-letter, delivery, feedback and run ids, the
columns that point at answers, Kafka offsets and clip sizes

These were ``integer`` (32-bit) columns and ``serial`` sequences on PostgreSQL. Once the
answers sequence passed 2,147,483,647 every further answer was refused and became a dead
letter (at 1,000 answers a second that is 25 days); a Kafka partition past offset 2^31
could no longer be indexed for clips, and a clip over 2 GiB not recorded. Each column
becomes ``bigint``, each sequence behind an id ``AS bigint`` (its maximum with it).
SQLite's ``INTEGER`` already holds 64 bits, so nothing changes there.

A view over these columns (the store's own ``feedwatch_runs``, or one an operator
added) is dropped first and made again from its stored definition afterwards; a view
built on such a view stops the upgrade with PostgreSQL's own message, nothing changed.

``ALTER COLUMN … TYPE bigint`` rewrites the table under an exclusive lock: on a store
with many millions of answers, run the upgrade (``feedwatch`` commands migrate on start)
in a maintenance window; ``docs/operations.md`` says how long it took here.

Revision ID: 0014_bigint_ids
Revises: 0013_answer_list_indexes
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_bigint_ids"
down_revision = "0013_answer_list_indexes"
branch_labels = None
depends_on = None

SERIAL_IDS = ("answers", "answer_runs", "dead_letters", "deliveries", "delivery_attempts",
              "answer_feedback")
"""Tables whose ``id`` a sequence numbers."""
COLUMNS = (
    ("answer_feedback", "answer_id"),
    ("incidents", "open_answer_id"),
    ("delivery_attempts", "delivery_id"),
    ("segment_index", "kafka_offset"),
    ("segment_index", "seq"),
    ("incident_clips", "bytes"),
    ("incident_clips", "source_bytes"),
)
"""Other columns that hold an id, an offset or a byte count."""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    views = _drop_views()
    for table in SERIAL_IDS:
        _retype(table, "id", "bigint")
        op.execute(sa.text(f"ALTER SEQUENCE {_sequence(table)} AS bigint"))
    for table, column in COLUMNS:
        _retype(table, column, "bigint")
    _make_views(views)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    views = _drop_views()
    for table, column in COLUMNS:
        _retype(table, column, "integer")
    for table in SERIAL_IDS:
        op.execute(sa.text(f"ALTER SEQUENCE {_sequence(table)} AS integer"))
        _retype(table, "id", "integer")
    _make_views(views)


def _drop_views() -> list[tuple[str, str]]:
    """Drop the views that read the retyped tables; their names and definitions."""
    tables = sorted(set(SERIAL_IDS) | {t for t, _ in COLUMNS})
    views = op.get_bind().execute(sa.text(
        "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid) "
        "FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = r.ev_class "
        "WHERE v.relkind = 'v' AND d.refobjid::regclass::text = ANY(:tables)"),
        {"tables": tables}).all()
    for name, _ in views:
        op.get_bind().exec_driver_sql(f"DROP VIEW {name}")
    return [(str(name), str(body)) for name, body in views]


def _make_views(views: list[tuple[str, str]]) -> None:
    for name, body in views:
        op.get_bind().exec_driver_sql(f"CREATE VIEW {name} AS {body}")  # body as stored


def _retype(table: str, column: str, kind: str) -> None:
    op.execute(sa.text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {kind}'))


def _sequence(table: str) -> str:
    name = op.get_bind().execute(
        sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()
    if name is None:
        raise RuntimeError(f"{table}.id has no sequence")
    return str(name)
