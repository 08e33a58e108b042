"""The transactional side of alerting: evaluate answers into the outbox, claim and settle.

:meth:`Outbox.evaluate` reads stored answers after a durable cursor (``answers.id``),
runs the pure :class:`pipeline.alerts.AlertEngine` over them and writes incident
rows, outbox rows, engine state and the cursor in ONE transaction; the cursor is
versioned, so two evaluators cannot both commit the same batch. The same code works
whether answers came from the embedded run or the Kafka sink.

:meth:`Outbox.claim` leases due deliveries (``pending`` whose time has come, or
``sending`` whose lease expired because a worker died); :meth:`Outbox.settle` records
one attempt and moves the row on, but only while the caller still holds the lease.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from connectors.store.alerts_leases import DeliveryLeases
from connectors.store.alerts_models import (
    AlertRuleRow,
    AlertStateRow,
    DeliveryRow,
    DeliveryStatus,
    HookRow,
)
from connectors.store.alerts_repo import PolicyDefaults, policy_of, rule_of
from connectors.store.alerts_rows import (
    answer_of,
    answers_after,
    contiguous,
    extend_incident,
    insert_for,
    load_states,
    message_of,
    put_state,
    rowcount,
    save_incident,
    track_key,
)
from connectors.store.models import AnswerRow, EvidenceRow
from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import Notification, Rule
from pipeline.alerts.state import (
    hook_state_from_dict,
    hook_state_to_dict,
    track_from_dict,
    track_to_dict,
)

CURSOR = ("cursor", "evaluator")


def _rules_of(rows: Sequence[AlertRuleRow]) -> tuple[list[Rule], dict[str, str]]:
    """The rules the rows hold; a row that is not a valid rule (written around the API)
    is left out with its error, never failing the batch for the others."""
    rules, failed = [], {}
    for row in rows:
        try:
            rules.append(rule_of(row))
        except Exception as exc:  # noqa: BLE001 - a bad row is reported, the rest run
            failed[row.id] = f"{type(exc).__name__}: {exc}"[:300]
    return rules, failed


class CursorConflict(Exception):
    """Another evaluator committed this batch first; the transaction is rolled back."""


@dataclass(frozen=True)
class EvalResult:
    """One evaluator pass: ``answers`` read, incident ``events`` (openings, closings),
    notifications ``enqueued`` for delivery, and the answer id the ``cursor`` now holds."""

    answers: int = 0
    events: int = 0
    enqueued: int = 0
    cursor: int = 0
    failed: tuple[tuple[str, str], ...] = ()
    """Rules that could not be built or raised on this batch, (rule id, error): they
    were skipped, the others ran."""


class Outbox(DeliveryLeases):
    """Evaluator and delivery-worker transactions over the alert tables."""

    def __init__(self, engine: Engine, defaults: PolicyDefaults | None = None) -> None:
        self.engine = engine
        self.defaults = defaults or PolicyDefaults()

    # -- evaluator ---------------------------------------------------------------------
    def init_cursor(self, start: str = "latest") -> int:
        """Create the cursor if missing: ``latest`` skips answers stored before now."""
        with Session(self.engine) as s, s.begin():
            row = s.get(AlertStateRow, CURSOR)
            if row is None:
                last = s.scalar(select(func.max(AnswerRow.id))) if start == "latest" else 0
                row = AlertStateRow(
                    kind=CURSOR[0],
                    key=CURSOR[1],
                    data={"answer_id": last or 0},
                    version=1,
                    updated_at=time.time(),
                )
                s.add(row)
            return int(row.data["answer_id"])

    def evaluate(
        self,
        limit: int = 200,
        evidence_url: Callable[[int, bool], str | None] | None = None,
        hold: Callable[[int], bool] | None = None,
    ) -> EvalResult:
        """Run the rules over the next answers. ``hold(expected_id)`` says whether to stop
        at a gap in answer ids (a concurrent insert may still commit it)."""
        self.init_cursor("earliest")
        with Session(self.engine) as s, s.begin():
            cursor = s.get(AlertStateRow, CURSOR, with_for_update=True)
            assert cursor is not None
            last, version = int(cursor.data["answer_id"]), cursor.version
            rows = contiguous(answers_after(s, last, limit), last, hold)
            if not rows:
                return EvalResult(cursor=last)
            events, enqueued, failed = self._evaluate_rows(s, rows, evidence_url)
            new_last = rows[-1].id
            moved = s.execute(
                update(AlertStateRow)
                .where(AlertStateRow.kind == CURSOR[0], AlertStateRow.key == CURSOR[1])
                .where(AlertStateRow.version == version)
                .values(data={"answer_id": new_last}, version=version + 1, updated_at=time.time())
            )
            if rowcount(moved) != 1:
                raise CursorConflict(f"cursor moved past {last} concurrently")
            return EvalResult(len(rows), events, enqueued, new_last, failed)

    def _evaluate_rows(
        self, s: Session, rows: Sequence[AnswerRow], evidence_url: Any
    ) -> tuple[int, int, tuple[tuple[str, str], ...]]:
        query_ids = sorted({r.query_id for r in rows})
        rule_rows = s.scalars(
            select(AlertRuleRow)
            .where(AlertRuleRow.query_id.in_(query_ids))
            .where(AlertRuleRow.enabled.is_(True))
        ).all()
        if not rule_rows:
            return 0, 0, ()
        rules, failed = _rules_of(rule_rows)
        hooks = {h.id: h for h in s.scalars(select(HookRow)).all()}
        policies = {h.id: policy_of(h, self.defaults) for h in hooks.values()}
        track_keys = {
            track_key(rule.id, r.camera_id)
            for rule in rules
            for r in rows
            if r.query_id == rule.query_id
        }
        hook_keys = {h for rule in rules for h in rule.hooks}
        tracks = {
            tuple(json.loads(k)): track_from_dict(d)
            for k, d in load_states(s, "track", track_keys).items()
        }
        hstates = {k: hook_state_from_dict(d) for k, d in load_states(s, "hook", hook_keys).items()}
        engine = AlertEngine(rules, policies, tracks, hstates)
        events = enqueued = 0
        for row in rows:
            evs, notes = engine.feed(answer_of(row))
            for ev in evs:
                save_incident(s, ev, row.id)
            enqueued += sum(self._enqueue(s, n, row, hooks, evidence_url) for n in notes)
            events += len(evs)
        for (rule_id, cam), track in engine.tracks.items():
            put_state(s, "track", track_key(rule_id, cam), track_to_dict(track))
            if track.incident is not None:
                extend_incident(s, track.incident)
        for hook_id, hs in engine.hook_states.items():
            put_state(s, "hook", hook_id, hook_state_to_dict(hs))
        return events, enqueued, tuple(failed.items()) + tuple(engine.failed.items())

    def _enqueue(
        self,
        s: Session,
        note: Notification,
        row: AnswerRow,
        hooks: dict[str, HookRow],
        evidence_url: Any,
    ) -> int:
        hook = hooks.get(note.hook_id)
        if hook is None or not hook.enabled:
            return 0
        has_evidence = (
            s.scalar(
                select(func.count())
                .select_from(EvidenceRow)
                .where(
                    EvidenceRow.query_id == row.query_id,
                    EvidenceRow.camera_id == row.camera_id,
                    EvidenceRow.window_end == row.window_end,
                )
            )
            or 0
        )
        url = evidence_url(row.id, has_evidence > 0) if evidence_url else None
        message = message_of(note.event, row.id, url)
        now = time.time()
        status = DeliveryStatus.SUPPRESSED if note.suppressed else DeliveryStatus.PENDING
        values = {
            "idempotency_key": note.idempotency_key,
            "hook_id": note.hook_id,
            "incident_id": note.event.incident.id,
            "event": note.event.kind.value,
            "payload": message.to_dict(),
            "status": status.value,
            "attempts": 0,
            "next_attempt_at": None if note.suppressed else now,
            "lease_until": None,
            "created_at": now,
            "updated_at": now,
            "last_error": note.suppressed,
        }
        stmt = (
            insert_for(s, DeliveryRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(DeliveryRow.id)  # psycopg's rowcount is -1 for INSERT … ON CONFLICT
        )
        return int(s.execute(stmt).first() is not None and not note.suppressed)
