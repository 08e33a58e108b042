"""Store tables of the alerting side: hooks, rules, incidents and the delivery outbox.

``deliveries`` is the outbox: the evaluator writes a row in the SAME transaction as
the incident state that caused it, and the delivery worker moves it through
:class:`DeliveryStatus`. ``idempotency_key`` is unique, so re-running the evaluator
over the same answers cannot enqueue a notification twice, and the receiver sees the
same key on every retry. ``alert_state`` holds the durable, versioned state of the
pure engine (per-track hysteresis counters, per-hook limiter state, the evaluator's
answer cursor).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectors.store.models import ROW_ID, Base


class DeliveryStatus(StrEnum):
    """Outbox states; :data:`TRANSITIONS` lists the allowed moves."""

    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"  # a 2xx was received (final)
    DEAD = "dead"  # exhausted or not retryable; last_error says why (final)
    SUPPRESSED = "suppressed"  # held back by cooldown / rate cap (final, never sent)


TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.SENDING, DeliveryStatus.DEAD}),
    # SENDING -> SENDING: a crashed worker's lease expired and another claims it
    DeliveryStatus.SENDING: frozenset(
        {
            DeliveryStatus.DELIVERED,
            DeliveryStatus.PENDING,
            DeliveryStatus.DEAD,
            DeliveryStatus.SENDING,
        }
    ),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.DEAD: frozenset(),
    DeliveryStatus.SUPPRESSED: frozenset(),
}


class HookRow(Base):
    __tablename__ = "hooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    type: Mapped[str] = mapped_column(String(20), default="webhook")
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cooldown_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_period_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"
    __table_args__ = (Index("ix_alert_rules_query", "query_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    query_id: Mapped[str] = mapped_column(String(200))
    condition: Mapped[str] = mapped_column(String(30), default="matched")
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    pattern: Mapped[str | None] = mapped_column(Text, nullable=True)
    open_after: Mapped[int] = mapped_column(Integer, default=1)
    close_after: Mapped[int] = mapped_column(Integer, default=1)
    min_duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    notify_close: Mapped[bool] = mapped_column(Boolean, default=False)
    hook_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_track", "rule_id", "camera_id"),
        Index("ix_incidents_state", "state", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    query_id: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[float] = mapped_column(Float)
    last_hit_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    notified: Mapped[list[str]] = mapped_column(JSON, default=list)
    open_answer_id: Mapped[int | None] = mapped_column(ROW_ID, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_incident", "incident_id"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    hook_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    duration_ms: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(12))  # delivered | retry | dead
    retry_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertStateRow(Base):
    __tablename__ = "alert_state"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # track | hook | cursor
    key: Mapped[str] = mapped_column(String(450), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[float] = mapped_column(Float)
