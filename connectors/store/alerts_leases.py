"""The delivery side of the alerts outbox: lease due deliveries, settle attempts.

:meth:`DeliveryLeases.claim` leases due deliveries (``pending`` whose time has come,
or ``sending`` whose lease expired because a worker died); :meth:`settle` records one
attempt and moves the row on, but only while the caller still holds the lease. A
closing is sent only after its opening is settled.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from connectors.hooks.base import HookMessage
from connectors.store.alerts_models import (
    TRANSITIONS,
    DeliveryAttemptRow,
    DeliveryRow,
    DeliveryStatus,
    HookRow,
)
from connectors.store.alerts_rows import (
    rowcount,
)

OPEN_STATES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class Claimed:
    """A leased delivery, ready to send."""

    id: int
    key: str
    hook: HookRow | None
    message: HookMessage
    attempts: int
    created_at: float
    lease_until: float


class DeliveryLeases:
    """Claim/settle over the deliveries table (mixed into :class:`Outbox`)."""

    engine: Engine

    def claim(self, limit: int, lease_s: float, now: float | None = None, *,
              one_per_hook: bool = False, skip_hooks: Collection[str] = ()) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (``one_per_hook``: the most due one of
        each hook, none of the hooks in ``skip_hooks``)."""
        now = time.time() if now is None else now
        lease = now + lease_s
        due = _due(now)
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            stmt = select(DeliveryRow.id, DeliveryRow.hook_id).where(due).order_by(
                DeliveryRow.next_attempt_at, DeliveryRow.id)
            if skip_hooks:
                stmt = stmt.where(DeliveryRow.hook_id.notin_(list(skip_hooks)))
            if not one_per_hook:
                stmt = stmt.limit(limit)
            ids: list[int] = []
            seen: set[str] = set()
            for row_id, hook_id in s.execute(stmt):
                if one_per_hook and hook_id in seen:
                    continue
                seen.add(hook_id)
                ids.append(row_id)
                if len(ids) >= limit:
                    break
            got = [
                i
                for i in ids
                if rowcount(
                    s.execute(
                        update(DeliveryRow)
                        .where(DeliveryRow.id == i, due)
                        .values(status=DeliveryStatus.SENDING, lease_until=lease, updated_at=now)
                    )
                )
                == 1
            ]
            rows = s.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(got))).all()
            hooks = {h.id: h for h in s.scalars(select(HookRow)).all()}
            return [
                Claimed(
                    r.id,
                    r.idempotency_key,
                    hooks.get(r.hook_id),
                    HookMessage.from_dict(r.payload),
                    r.attempts,
                    r.created_at,
                    lease,
                )
                for r in sorted(rows, key=lambda r: r.id)
            ]

    def settle(
        self,
        claimed: Claimed,
        *,
        status: DeliveryStatus,
        started_at: float,
        duration: float,
        status_code: int | None = None,
        error: str | None = None,
        next_attempt_at: float | None = None,
    ) -> bool:
        """Record one attempt and move the delivery on; False if the lease was lost."""
        if status not in TRANSITIONS[DeliveryStatus.SENDING]:
            raise ValueError(f"a sending delivery cannot become {status.value}")
        now = time.time()
        attempt = claimed.attempts + 1
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempt,
            "lease_until": None,
            "updated_at": now,
            "next_attempt_at": next_attempt_at,
            "last_status": status_code,
            "last_error": error,
        }
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        with Session(self.engine) as s, s.begin():
            moved = s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == claimed.id)
                .where(DeliveryRow.status == DeliveryStatus.SENDING)
                .where(DeliveryRow.lease_until == claimed.lease_until)
                .values(**values)
            )
            if rowcount(moved) != 1:
                return False
            outcome = {DeliveryStatus.PENDING: "retry"}.get(status, status.value)
            s.add(
                DeliveryAttemptRow(
                    delivery_id=claimed.id,
                    attempt=attempt,
                    started_at=started_at,
                    duration_ms=duration * 1000.0,
                    status_code=status_code,
                    error=error,
                    outcome=outcome,
                    retry_at=next_attempt_at,
                )
            )
            return True

    def pending(self) -> int:
        """Deliveries not yet delivered, dead or suppressed."""
        with Session(self.engine) as s:
            stmt = (
                select(func.count())
                .select_from(DeliveryRow)
                .where(DeliveryRow.status.in_(OPEN_STATES))
            )
            return int(s.scalar(stmt) or 0)

    def settled_since(self, since: float) -> dict[str, int]:
        """How many deliveries created since ``since`` are in each state (``delivered``,
        ``dead``, ...): what a run reports as it ends."""
        with Session(self.engine) as s:
            stmt = (select(DeliveryRow.status, func.count()).where(DeliveryRow.created_at >= since)
                    .group_by(DeliveryRow.status))
            return {DeliveryStatus(status).value: int(n) for status, n in s.execute(stmt)}

    def next_due(self) -> float | None:
        """The earliest time a delivery becomes due (for the worker's sleep)."""
        with Session(self.engine) as s:
            pend = s.scalar(
                select(func.min(DeliveryRow.next_attempt_at)).where(
                    DeliveryRow.status == DeliveryStatus.PENDING, _in_order()
                )
            )
            lease = s.scalar(
                select(func.min(DeliveryRow.lease_until)).where(
                    DeliveryRow.status == DeliveryStatus.SENDING
                )
            )
            times = [t for t in (pend, lease) if t is not None]
            return min(times) if times else None


# -- helpers ---------------------------------------------------------------------------


def _in_order() -> Any:
    """A closing (and a ``clip_ready``) is sent only after its opening is settled
    (delivered or dead)."""
    opening = aliased(DeliveryRow)
    unsettled = (
        exists()
        .where(opening.incident_id == DeliveryRow.incident_id)
        .where(opening.hook_id == DeliveryRow.hook_id, opening.event == "opened")
        .where(opening.status.in_(OPEN_STATES))
    )
    return or_(DeliveryRow.event.not_in(("closed", "clip_ready")), ~unsettled)


def _due(now: float) -> Any:
    """Pending and due, or leased by a worker whose lease ran out."""
    ready = or_(
        and_(DeliveryRow.status == DeliveryStatus.PENDING, DeliveryRow.next_attempt_at <= now),
        and_(DeliveryRow.status == DeliveryStatus.SENDING, DeliveryRow.lease_until < now),
    )
    return and_(ready, _in_order())
