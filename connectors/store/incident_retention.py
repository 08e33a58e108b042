"""Retention of incidents: closed incidents older than their keep-time go, with their
clips (rows and MP4 files), deliveries and delivery attempts, and their clip-wait marks.

Age is the camera's stream clock minus the incident's ``closed_at`` (an open incident
is never pruned). A batch deletes the rows in one transaction and returns the clip
files it orphaned; the caller removes them after the commit, so a failed transaction
never leaves rows pointing at files already gone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from connectors.store.alerts_models import DeliveryAttemptRow, DeliveryRow, IncidentRow
from connectors.store.clip_followup import forget_marks
from connectors.store.clips import IncidentClipRow

INCIDENTS: Any = IncidentRow.__table__
CLIPS: Any = IncidentClipRow.__table__
DELIVERIES: Any = DeliveryRow.__table__
ATTEMPTS: Any = DeliveryAttemptRow.__table__


def newest_hits() -> Any:
    """Per camera, the newest stream time an incident saw (a stream clock source)."""
    return sa.select(INCIDENTS.c.camera_id, sa.func.max(INCIDENTS.c.last_hit_at)).group_by(
        INCIDENTS.c.camera_id)


def prune_batch(conn: Any, camera: str, cutoff: float, batch: int) -> tuple[int, list[str]]:
    """Delete up to ``batch`` closed incidents of ``camera`` closed before ``cutoff``;
    returns how many and the clip file names to remove once committed."""
    ids = [r[0] for r in conn.execute(
        sa.select(INCIDENTS.c.id).where(
            INCIDENTS.c.camera_id == camera, INCIDENTS.c.closed_at.is_not(None),
            INCIDENTS.c.closed_at < cutoff).limit(batch))]
    if not ids:
        return 0, []
    files = [r[0] for r in conn.execute(
        sa.select(CLIPS.c.file).where(CLIPS.c.incident_id.in_(ids), CLIPS.c.file.is_not(None)))]
    deliveries = sa.select(DELIVERIES.c.id).where(DELIVERIES.c.incident_id.in_(ids))
    conn.execute(sa.delete(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(deliveries)))
    conn.execute(sa.delete(DELIVERIES).where(DELIVERIES.c.incident_id.in_(ids)))
    conn.execute(sa.delete(CLIPS).where(CLIPS.c.incident_id.in_(ids)))
    forget_marks(conn, ids)
    n = int(conn.execute(sa.delete(INCIDENTS).where(INCIDENTS.c.id.in_(ids))).rowcount)
    return n, files
