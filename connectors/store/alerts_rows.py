"""Row-level helpers of the alert outbox: dialect-aware upserts, state rows, conversions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.hooks.base import HookMessage
from connectors.store.alerts_models import AlertStateRow, IncidentRow
from connectors.store.models import AnswerRow
from connectors.store.repository import answer_from_row
from pipeline.alerts.model import Incident, IncidentEvent, vlm_description


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def answers_after(s: Session, last: int, limit: int) -> list[AnswerRow]:
    stmt = select(AnswerRow).where(AnswerRow.id > last).order_by(AnswerRow.id).limit(limit)
    return list(s.scalars(stmt).all())


def contiguous(
    rows: list[AnswerRow], last: int, hold: Callable[[int], bool] | None
) -> list[AnswerRow]:
    """The rows up to the first id gap that ``hold`` says to wait at.

    ``hold`` sees EVERY gap of the batch (so their grace periods run together, and a
    burst of gaps from ``ON CONFLICT DO NOTHING`` inserts costs one grace, not many).
    """
    cut = len(rows)
    expected = last + 1
    for i, row in enumerate(rows):
        if row.id != expected and hold is not None and hold(expected) and cut == len(rows):
            cut = i
        expected = row.id + 1
    return rows[:cut]


def track_key(rule_id: str, camera: str) -> str:
    return json.dumps([rule_id, camera])


def load_states(s: Session, kind: str, keys: set[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    stmt = select(AlertStateRow).where(
        AlertStateRow.kind == kind, AlertStateRow.key.in_(sorted(keys))
    )
    return {r.key: r.data for r in s.scalars(stmt).all()}


def insert_for(s: Session, model: Any) -> Any:
    dialect = s.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def put_state(s: Session, kind: str, key: str, data: dict[str, Any]) -> None:
    now = time.time()
    stmt = insert_for(s, AlertStateRow).values(
        kind=kind, key=key, data=data, version=1, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"data": stmt.excluded.data, "version": AlertStateRow.version + 1, "updated_at": now},
    )
    s.execute(stmt)


def extend_incident(s: Session, inc: Incident) -> None:
    """An open incident's latest hit, kept as its hits arrive: the stored row is
    otherwise written only when the incident opens and when it closes."""
    s.execute(
        update(IncidentRow)
        .where(IncidentRow.id == inc.id, IncidentRow.closed_at.is_(None))
        .where(IncidentRow.last_hit_at < inc.last_hit_at)
        .values(last_hit_at=inc.last_hit_at, updated_at=time.time())
    )


def save_incident(s: Session, event: IncidentEvent, answer_id: int) -> None:
    inc = event.incident
    values = {
        "id": inc.id,
        "rule_id": inc.rule_id,
        "query_id": inc.query_id,
        "camera_id": inc.camera,
        "question": inc.question,
        "state": inc.state.value,
        "started_at": inc.started_at,
        "opened_at": inc.opened_at,
        "last_hit_at": inc.last_hit_at,
        "closed_at": inc.closed_at,
        "notified": list(inc.notified),
        "open_answer_id": answer_id,
        "updated_at": time.time(),
    }
    stmt = insert_for(s, IncidentRow).values(**values)
    keep = {"id", "open_answer_id", "started_at", "opened_at"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={k: stmt.excluded[k] for k in values if k not in keep},
    )
    s.execute(stmt)


# The fields a hook message copies, by name, from the incident and from the answer.
MESSAGE_FROM_INCIDENT = (
    "rule_id", "query_id", "question", "camera", "started_at", "opened_at", "closed_at",
)
MESSAGE_FROM_ANSWER = ("window_start", "window_end", "matched", "score")


def message_of(event: IncidentEvent, answer_id: int, evidence_url: str | None) -> HookMessage:
    inc, a = event.incident, event.answer
    return HookMessage(
        event=event.kind.value,
        incident_id=inc.id,
        incident_state=inc.state.value,
        answer=a.text,
        answer_id=answer_id,
        evidence_url=evidence_url,
        description=vlm_description(a),
        **{name: getattr(inc, name) for name in MESSAGE_FROM_INCIDENT},
        **{name: getattr(a, name) for name in MESSAGE_FROM_ANSWER},
    )


answer_of = answer_from_row
