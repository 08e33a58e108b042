"""Backfill jobs as rows: create, read, claim, report progress, finish, cancel, recover.

Every change is one conditional ``UPDATE`` (state and owner in its ``WHERE``), so two
processes never both claim a job, a cancelled job is not overwritten by its runner's
next report (the runner sees the report refused and stops), and a finished job stays
finished. Finished jobs past the newest ``keep`` are deleted as new ones are created.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store.backfills.schema import ACTIVE, BackfillJob, BackfillRow, BackfillState
from connectors.store.db import store_errors
from pipeline.types import StandingQuery

TABLE: Any = BackfillRow.__table__
KEEP_FINISHED = 1000
INTERRUPTED = "interrupted: the process running it stopped"


class BackfillJobs:
    """The ``backfills`` table of a store."""

    def __init__(
        self, engine: Engine, *, keep: int = KEEP_FINISHED, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.clock = clock

    # -- reads -------------------------------------------------------------------
    def get(self, job_id: str) -> BackfillJob | None:
        rows = self._read(sa.select(TABLE).where(TABLE.c.id == job_id))
        return BackfillJob.of(rows[0]) if rows else None

    def list(self, query_id: str | None = None, limit: int = 100) -> list[BackfillJob]:
        """Newest first."""
        stmt = sa.select(TABLE).order_by(TABLE.c.created_at.desc(), TABLE.c.id).limit(limit)
        if query_id is not None:
            stmt = stmt.where(TABLE.c.query_id == query_id)
        return [BackfillJob.of(r) for r in self._read(stmt)]

    def active(self) -> int:
        stmt = sa.select(sa.func.count()).select_from(TABLE).where(TABLE.c.state.in_(ACTIVE))
        return int(self._read(stmt)[0][0])

    # -- changes -------------------------------------------------------------------
    def create(
        self, query: StandingQuery, seconds: float, *, owner: str | None = None
    ) -> BackfillJob:
        """A new job, queued (or running under ``owner``, who runs it at once)."""
        now = self.clock()
        state = BackfillState.queued if owner is None else BackfillState.running
        row = {
            "id": uuid.uuid4().hex[:16], "query_id": query.id, "version": query.version,
            "cameras": list(query.cameras), "seconds": float(seconds), "state": state.value,
            "windows_done": 0, "windows_total": 0, "answers": 0, "owner": owner,
            "attempts": 0 if owner is None else 1, "created_at": now,
            "started_at": None if owner is None else now, "heartbeat_at": now,
        }
        self._write(lambda conn: (conn.execute(sa.insert(TABLE).values(**row)), self._prune(conn)))
        job = self.get(row["id"])
        assert job is not None
        return job

    def claim(self, owner: str) -> BackfillJob | None:
        """The oldest queued job, now running under ``owner`` (None: nothing queued)."""
        queued = (sa.select(TABLE.c.id).where(TABLE.c.state == BackfillState.queued.value)
                  .order_by(TABLE.c.created_at, TABLE.c.id).limit(8))
        for (job_id,) in self._read(queued):
            now = self.clock()
            if self._change(job_id, (BackfillState.queued,), None, state="running", owner=owner,
                            attempts=TABLE.c.attempts + 1, started_at=now, heartbeat_at=now):
                return self.get(job_id)
        return None

    def progress(self, job_id: str, owner: str, **values: Any) -> bool:
        """Report progress (windows_done, windows_total, answers, since, until, version);
        False when the job is no longer this owner's to run (cancelled, or taken over)."""
        return self._change(job_id, (BackfillState.running,), owner, heartbeat_at=self.clock(),
                            **values)

    def finish(self, job_id: str, owner: str, state: BackfillState, error: str | None = None,
               **values: Any) -> bool:
        return self._change(job_id, (BackfillState.running,), owner, state=state.value,
                            error=error, finished_at=self.clock(), heartbeat_at=self.clock(),
                            **values)

    def release(self, job_id: str, owner: str) -> bool:
        """Give a running job back to the queue (its process is stopping)."""
        return self._change(job_id, (BackfillState.running,), owner, state="queued", owner=None)

    def cancel(self, job_id: str, error: str | None = None) -> bool:
        """Cancel a queued or running job; False when it is finished (or unknown)."""
        return self._change(job_id, (BackfillState.queued, BackfillState.running), None,
                            state="cancelled", error=error, finished_at=self.clock())

    def cancel_query(self, query_id: str, error: str) -> int:
        stmt = (sa.update(TABLE).where(TABLE.c.query_id == query_id, TABLE.c.state.in_(ACTIVE))
                .values(state="cancelled", error=error, finished_at=self.clock()))
        return int(self._write(lambda conn: conn.execute(stmt).rowcount))

    def recover(self, stale_s: float, max_attempts: int) -> tuple[int, int]:
        """Running jobs silent for ``stale_s``: queued again (resumed by the next claim), or
        failed once ``max_attempts`` runs were interrupted. Returns (requeued, failed)."""
        cut = self.clock() - stale_s
        stale = [TABLE.c.state == BackfillState.running.value, TABLE.c.heartbeat_at < cut]
        again = sa.update(TABLE).where(*stale, TABLE.c.attempts < max_attempts).values(
            state="queued", owner=None)
        give_up = sa.update(TABLE).where(*stale, TABLE.c.attempts >= max_attempts).values(
            state="failed", error=INTERRUPTED, finished_at=self.clock())

        def work(conn: Any) -> tuple[int, int]:
            return int(conn.execute(again).rowcount), int(conn.execute(give_up).rowcount)

        done: tuple[int, int] = self._write(work)
        return done

    # -- plumbing -------------------------------------------------------------------
    def _change(self, job_id: str, states: Sequence[BackfillState], held_by: str | None,
                **values: Any) -> bool:
        where = [TABLE.c.id == job_id, TABLE.c.state.in_([s.value for s in states])]
        if held_by is not None:
            where.append(TABLE.c.owner == held_by)
        stmt = sa.update(TABLE).where(*where).values(**values)
        return bool(self._write(lambda conn: conn.execute(stmt).rowcount))

    def _prune(self, conn: Any) -> None:
        finished = TABLE.c.state.not_in(ACTIVE)
        cut = (sa.select(TABLE.c.created_at).where(finished)
               .order_by(TABLE.c.created_at.desc()).offset(self.keep).limit(1))
        oldest_kept = conn.execute(cut).scalar()
        if oldest_kept is not None:
            conn.execute(sa.delete(TABLE).where(finished, TABLE.c.created_at <= oldest_kept))

    def _read(self, stmt: Any) -> list[Any]:
        with store_errors("backfill jobs read failed"), self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def _write(self, work: Callable[[Any], Any]) -> Any:
        with store_errors("backfill jobs write failed"), self.engine.begin() as conn:
            return work(conn)
