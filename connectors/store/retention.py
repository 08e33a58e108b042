"""Retention: delete frames, answers and evidence older than their keep-times.

Age is measured on each camera's own stream clock — the newest frame time or
window end stored for it (or seen by the writer) — never on the wall clock, so a
file's frames (seconds from its start) are not 'old' because the file is.
Deletes run in small batches, one short transaction each, so writers are never
locked out for long; :meth:`Pruner.maybe_prune` rate-limits the continuous pruning a
sink or embedded run does, ``feedwatch db prune`` calls :meth:`Pruner.prune` once.
Evidence of a pruned answer goes with it; evidence may also be kept shorter. The
answer rollups (runs and minute rows) have their own keep-time, usually far longer
than the raw answers they summarise. Closed incidents have their own keep-time too
and take their clips (rows and files) and deliveries with them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store import incident_retention
from connectors.store.clips import ClipFiles
from connectors.store.db import store_errors
from connectors.store.frames.groups import GROUP_SECONDS
from connectors.store.frames.schema import FrameGroupRow, FrameRow
from connectors.store.models import AnswerRow, EvidenceRow
from connectors.store.rollups.newest import newest_per_series, series
from connectors.store.rollups.schema import MINUTES, RUNS
from connectors.store.skip_scan import newest_per_key
from pipeline.errors import ConfigError, StoreError
from pipeline.scheduler import WALL_CLOCK_SLACK

log = logging.getLogger(__name__)

FRAMES: Any = FrameRow.__table__
GROUPS: Any = FrameGroupRow.__table__
ANSWERS: Any = AnswerRow.__table__
EVIDENCE: Any = EvidenceRow.__table__
BatchFn = Callable[[Any, str, float], tuple[int, bool]]
FUTURE_SLACK = WALL_CLOCK_SLACK  # s a camera's stream clock may run ahead of the wall clock
ROLLUP_INTERVAL = 3600.0  # s between continuous prunes of the rollups (kept for months)


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep-times in seconds of stream time (None: kept forever)."""

    frames: float | None = None
    answers: float | None = None
    evidence: float | None = None
    rollups: float | None = None
    incidents: float | None = None  # closed incidents, with their clips and deliveries
    batch: int = 500
    interval: float = 10.0

    def __post_init__(self) -> None:
        for name in ("frames", "answers", "evidence", "rollups", "incidents"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"retention.{name}", value, "a positive duration, or unset")
        if self.batch < 1:
            raise ConfigError("retention.batch", self.batch, "at least 1 row")
        if not self.interval > 0:
            raise ConfigError("retention.interval", self.interval, "a positive number of seconds")

    @property
    def enabled(self) -> bool:
        return self.has_raw or self.rollups is not None

    @property
    def has_raw(self) -> bool:
        """Whether frames, answers, evidence or incidents have a keep-time."""
        return any(v is not None
                   for v in (self.frames, self.answers, self.evidence, self.incidents))


@dataclass
class PruneResult:
    """Rows deleted per table in one pruning pass."""

    deleted: dict[str, int] = field(
        default_factory=lambda: {"frames": 0, "answers": 0, "evidence": 0, "rollups": 0,
                                 "incidents": 0}
    )
    complete: bool = True  # False: the batch budget ran out with more to delete
    clip_files: int = 0  # clip files of pruned incidents removed
    clip_files_missing: int = 0  # ... not found where the clips folder setting says

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class Pruner:
    """Enforces a :class:`RetentionPolicy` on one store."""

    def __init__(
        self,
        engine: Engine,
        policy: RetentionPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        clip_files: ClipFiles | None = None,
    ) -> None:
        self.engine = engine
        self.clip_files = clip_files  # where pruned incidents' clips are removed
        self._orphans: list[str] = []
        self._files = [0, 0]  # clip files removed, not found (this pass)
        self.policy = policy
        self.clock = clock
        self.seen: dict[str, float] = {}
        self._last = -float("inf")
        self._last_rollups = -float("inf")
        self.totals = PruneResult()

    def observe(self, camera: str, t: float) -> None:
        """The writer saw stream time ``t`` on ``camera`` (it may not be stored yet); a
        time a day past the wall clock is a forged one, never the camera's clock."""
        if self.seen.get(camera, -float("inf")) < t <= time.time() + FUTURE_SLACK:
            self.seen[camera] = t

    def maybe_prune(self, max_batches: int = 20) -> PruneResult | None:
        """Prune at most every ``policy.interval`` s (a bounded number of batches); the
        rollups, kept for months, at most every ``ROLLUP_INTERVAL`` s."""
        p, now = self.policy, self.clock()
        raw = p.has_raw and now - self._last >= p.interval
        rollups = p.rollups is not None and now - self._last_rollups >= ROLLUP_INTERVAL
        if not (raw or rollups):
            return None
        self._last = now if raw else self._last
        self._last_rollups = now if rollups else self._last_rollups
        try:
            return self.prune(max_batches, raw=raw, rollups=rollups)
        except StoreError as exc:
            log.warning("retention: pruning postponed: %s", str(exc).splitlines()[0])
            return None

    def prune(
        self, max_batches: int | None = None, *, raw: bool = True, rollups: bool = True
    ) -> PruneResult:
        """Delete what the policy says is too old; ``max_batches`` bounds the work per table
        (``raw``/``rollups``: which tables this pass covers)."""
        result = PruneResult()
        self._files = [0, 0]
        for camera, now in sorted(self.stream_clocks(raw=raw, rollups=rollups).items()):
            self._prune_camera(camera, now, result, max_batches, raw=raw, rollups=rollups)
        result.clip_files, result.clip_files_missing = self._files
        for table, n in result.deleted.items():
            self.totals.deleted[table] += n
        return result

    def stream_clocks(self, *, raw: bool = True, rollups: bool = True) -> dict[str, float]:
        """Newest stream time per camera: stored frames and answers (or minute rollups),
        and what was observed; only the tables a pass prunes are read."""
        clocks = dict(self.seen)
        p = self.policy
        ahead = time.time() + FUTURE_SLACK  # a stream time past this is forged: not a clock
        found: list[tuple[str, float]] = []
        with store_errors("retention read failed"), self.engine.connect() as conn:
            # index seeks per camera (per series for the minutes), never a scan of the table
            if raw and p.frames is not None:
                found += newest_per_key(conn, FRAMES.c.camera_id, FRAMES.c.t, ahead).items()
            if raw and (p.answers is not None or p.evidence is not None):
                a = ANSWERS.c
                found += newest_per_key(conn, a.camera_id, a.window_end, ahead).items()
            if rollups and p.rollups is not None:
                ends = newest_per_series(conn, series(conn), ahead)
                found += [(camera, t) for (_, camera), t in ends.items()]
            if raw and p.incidents is not None:
                found += conn.execute(incident_retention.newest_hits()).all()
        for camera, newest in found:
            if newest is not None and clocks.get(camera, -float("inf")) < newest <= ahead:
                clocks[camera] = float(newest)
        return clocks

    def _prune_camera(
        self, camera: str, now: float, result: PruneResult, max_batches: int | None,
        *, raw: bool, rollups: bool,
    ) -> None:
        p = self.policy
        steps: list[tuple[str, float | None, BatchFn]] = [
            ("frames", p.frames if raw else None, self._frames_batch),
            ("evidence", _shorter(p.evidence, p.answers) if raw else None, self._evidence_batch),
            ("answers", p.answers if raw else None, self._answers_batch),
            ("incidents", p.incidents if raw else None, self._incidents_batch),
            ("rollups", p.rollups if rollups else None, self._rollups_batch),
        ]
        for name, keep, batch in steps:
            if keep is None:
                continue
            cutoff = now - keep
            for _ in range(max_batches if max_batches is not None else 1 << 30):
                n, more = self._delete_batch(batch, camera, cutoff)
                result.deleted[name] += n
                if not more:
                    break
            else:
                result.complete = False

    def _delete_batch(self, batch: BatchFn, camera: str, cutoff: float) -> tuple[int, bool]:
        self._orphans = []
        done: tuple[int, bool] = self._write(lambda conn: batch(conn, camera, cutoff))
        if self._orphans and self.clip_files is not None:  # after the commit
            gone = self.clip_files.remove(self._orphans)
            self._files[0] += gone
            self._files[1] += len(self._orphans) - gone
        return done

    def _older_rows(self, conn: Any, table: Any, col: Any, camera: str, cutoff: float) -> int:
        """Delete up to one batch of ``table``'s rows of ``camera`` with ``col`` < ``cutoff``."""
        ids = (
            sa.select(table.c.id)
            .where(table.c.camera_id == camera, col < cutoff)
            .limit(self.policy.batch)
            .scalar_subquery()
        )
        return int(conn.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount)

    def _frames_batch(self, conn: Any, camera: str, cutoff: float) -> tuple[int, bool]:
        n = self._older_rows(conn, FRAMES, FRAMES.c.t, camera, cutoff)
        if n < self.policy.batch:  # the last batch: drop the groups now wholly too old
            old = sa.and_(GROUPS.c.camera_id == camera, GROUPS.c.start + GROUP_SECONDS <= cutoff)
            conn.execute(sa.delete(GROUPS).where(old))
        return n, n >= self.policy.batch

    def _evidence_batch(self, conn: Any, camera: str, cutoff: float) -> tuple[int, bool]:
        ends = (
            sa.select(EVIDENCE.c.window_end)
            .where(EVIDENCE.c.camera_id == camera, EVIDENCE.c.window_end < cutoff)
            .distinct()
            .limit(self.policy.batch)
            .scalar_subquery()
        )
        stmt = sa.delete(EVIDENCE).where(
            EVIDENCE.c.camera_id == camera, EVIDENCE.c.window_end.in_(ends)
        )
        n = int(conn.execute(stmt).rowcount)
        return n, n > 0  # rows per window end vary: go on until none is left

    def _answers_batch(self, conn: Any, camera: str, cutoff: float) -> tuple[int, bool]:
        n = self._older_rows(conn, ANSWERS, ANSWERS.c.window_end, camera, cutoff)
        return n, n >= self.policy.batch

    def _incidents_batch(self, conn: Any, camera: str, cutoff: float) -> tuple[int, bool]:
        n, files = incident_retention.prune_batch(conn, camera, cutoff, self.policy.batch)
        self._orphans += files
        return n, n >= self.policy.batch

    def _rollups_batch(self, conn: Any, camera: str, cutoff: float) -> tuple[int, bool]:
        """Minute rows wholly before ``cutoff`` and runs that ended before it."""
        n = 0
        for table, col, key in ((MINUTES, MINUTES.c.minute + 60, MINUTES.c.minute),
                                (RUNS, RUNS.c.run_end, RUNS.c.id)):
            old = sa.select(key).where(table.c.camera_id == camera, col <= cutoff)
            keys = old.limit(self.policy.batch).scalar_subquery()
            where = [table.c.camera_id == camera, key.in_(keys)]
            n += int(conn.execute(sa.delete(table).where(*where)).rowcount)
        return n, n > 0

    def _write(self, work: Callable[[Any], Any]) -> Any:
        with store_errors("retention delete failed"), self.engine.begin() as conn:
            return work(conn)


def _shorter(a: float | None, b: float | None) -> float | None:
    """Evidence is kept no longer than its answers (it belongs to them)."""
    if a is None:
        return b
    return a if b is None else min(a, b)
