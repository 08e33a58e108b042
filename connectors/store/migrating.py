"""What one migration run needs beyond Alembic: on SQLite, one transaction and foreign
keys left unenforced while tables are copied; and what an upgrade leaves to the operator
(answers stored before the rollup tables existed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from pipeline.errors import StoreError

log = logging.getLogger(__name__)
BEFORE_ROLLUPS = frozenset({"0001", "0002_alerts", "0003_answer_feedback", "0004_frame_index",
                            "0005_answer_stages"})
"""Revisions older than ``0006_answer_rollups``, which made the rollup tables empty."""


@contextmanager
def sqlite_unenforced(conn: Connection) -> Iterator[None]:
    """On SQLite, foreign keys are not enforced while migrations run. A migration that
    changes a table's columns copies it to a new table and drops the old one (batch
    mode), and with enforcement on, dropping ``answers`` deleted every ``evidence`` row
    through its ``ON DELETE CASCADE``. The switch only takes effect outside a
    transaction, so it is set before one begins and set back after it ends."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()  # ends SQLAlchemy's implicit transaction; no SQL transaction was open
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def sqlite_begin(conn: Connection) -> None:
    """On SQLite, the migrations run in one transaction that this opens: the driver
    begins one only before a row is written, so a table a migration created stayed
    created when a later step failed or the process was killed, the revision was not
    recorded, and every later start failed on "table frames already exists".
    ``IMMEDIATE`` takes the write lock first: processes that start together on one store
    migrate one after the other (the next waits, then finds the store at head) instead
    of failing on "database is locked"."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def foreign_keys_hold(conn: Connection, before: str | None) -> None:
    """After migrating a SQLite store with foreign keys unenforced, every row still
    points at a row that exists (else the transaction rolls back). A store that was at
    its revision already is not checked: the check reads every row of every table with
    a foreign key, and every command opens the store."""
    moved = MigrationContext.configure(conn).get_current_revision() != before
    if conn.dialect.name == "sqlite" and moved:
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            tables = sorted({str(row[0]) for row in broken})
            raise StoreError(f"migration left {len(broken)} rows of {', '.join(tables)} "
                             "pointing at rows that do not exist; nothing was changed")


def note_rollups(conn: Connection, before: str | None) -> None:
    """A store upgraded past ``0006_answer_rollups`` with answers in it has empty rollups:
    runs and summaries show nothing of that history until they are rebuilt (the
    migration stays quick; the rebuild walks every answer). Said once, as a warning."""
    now = MigrationContext.configure(conn).get_current_revision()
    if before not in BEFORE_ROLLUPS or now is None or now in BEFORE_ROLLUPS:
        return
    if conn.exec_driver_sql("SELECT 1 FROM answers LIMIT 1").first() is None:
        return
    if conn.exec_driver_sql("SELECT 1 FROM answer_runs LIMIT 1").first() is not None:
        return
    log.warning("the store holds answers from before answer rollups (revision %s): runs and "
                "summaries show none of them until `feedwatch db rebuild-rollups` fills "
                "the rollups (once, before the workers start)", before)
