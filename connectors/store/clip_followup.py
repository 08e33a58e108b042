"""``clip_ready``: the notification that follows an ``opened`` one sent before its clip.

An ``opened`` notification never waits for its clip; when it goes out saying
``clip_state: pending``, the incident is marked (``alert_state`` kind ``clip_wait``).
When the incident's first clip settles (``ready``, ``expired`` or ``failed``; an
opening clip ``skipped`` because the incident closed first leaves it to the closing
clip), every hook its ``opened`` notification was queued for (not suppressed, not
dead) gets ONE ``clip_ready`` delivery through the same outbox (idempotency key
``clip_ready:<incident>:<hook>``), sent after the opening settled and decorated at
send time like every notification: fresh ``clip_url``/``snapshot_url`` and the clip's
state then. Both sides write first and check after, in separate transactions, so
whichever comes second queues it (twice is harmless: the key dedups); the mark is
removed once the follow-ups are queued, and goes with its incident (retention).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from connectors.store.alerts_models import AlertStateRow, DeliveryRow, DeliveryStatus, IncidentRow
from connectors.store.alerts_rows import insert_for
from connectors.store.clips import ClipStore
from connectors.store.db import store_errors

EVENT = "clip_ready"
KIND = "clip_wait"
SETTLED = ("ready", "expired", "failed")
_SILENT = (DeliveryStatus.SUPPRESSED.value, DeliveryStatus.DEAD.value)


def followup_key(incident_id: str, hook_id: str) -> str:
    return f"{EVENT}:{incident_id}:{hook_id}"


class ClipFollowUp:
    """Marks incidents whose ``opened`` went out before the clip, queues ``clip_ready``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clips = ClipStore(engine)

    def state(self, incident_id: str) -> str:
        best = self.clips.best(incident_id)
        return "pending" if best is None else best.state

    def opened_pending(self, incident_id: str) -> str:
        """An ``opened`` notification is about to say ``pending``: mark the incident,
        then read the clip's state again; a clip that settled meanwhile is said (and its
        follow-ups queued, in case the clip worker looked before the mark). An opening
        clip ``skipped`` because the incident closed first is still ``pending`` to the
        receiver: the closing clip is coming, and ``clip_ready`` follows it."""
        with store_errors("marking a clip wait"), Session(self.engine) as s, s.begin():
            stmt = insert_for(s, AlertStateRow).values(
                kind=KIND, key=incident_id, data={"at": time.time()}, version=1,
                updated_at=time.time())
            s.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"]))
        now = self.state(incident_id)
        if now in SETTLED:
            self.clip_settled(incident_id)
            return now
        return "pending"

    def clip_settled(self, incident_id: str) -> int:
        """A clip of the incident was saved: queue ``clip_ready`` for each hook of its
        ``opened`` notification if one went out saying ``pending``; returns how many."""
        if self.state(incident_id) not in SETTLED:
            return 0
        with store_errors("queueing clip_ready"), Session(self.engine) as s, s.begin():
            if s.get(AlertStateRow, (KIND, incident_id)) is None:
                return 0
            incident = s.get(IncidentRow, incident_id)
            opened = s.scalars(select(DeliveryRow).where(
                DeliveryRow.incident_id == incident_id, DeliveryRow.event == "opened",
                DeliveryRow.status.not_in(_SILENT))).all()
            queued = sum(self._queue(s, row, incident) for row in opened)
            s.execute(delete(AlertStateRow).where(
                AlertStateRow.kind == KIND, AlertStateRow.key == incident_id))
            return queued

    @staticmethod
    def _queue(s: Session, opened: DeliveryRow, incident: IncidentRow | None) -> int:
        payload: dict[str, Any] = {**opened.payload, "event": EVENT}
        if incident is not None:
            payload.update(incident_state=incident.state, closed_at=incident.closed_at)
        now = time.time()
        stmt = insert_for(s, DeliveryRow).values(
            idempotency_key=followup_key(opened.incident_id, opened.hook_id),
            hook_id=opened.hook_id, incident_id=opened.incident_id, event=EVENT,
            payload=payload, status=DeliveryStatus.PENDING.value, attempts=0,
            next_attempt_at=now, lease_until=None, created_at=now, updated_at=now)
        inserted = s.execute(stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])
                             .returning(DeliveryRow.id))  # not rowcount: -1 on psycopg
        return int(inserted.first() is not None)


def forget_marks(conn: Any, incident_ids: list[str]) -> None:
    """Retention: the marks of pruned incidents."""
    table: Any = AlertStateRow.__table__
    conn.execute(delete(table).where(table.c.kind == KIND, table.c.key.in_(incident_ids)))
