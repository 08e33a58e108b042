"""alerting: hooks, alert_rules, incidents, deliveries (outbox), delivery_attempts, alert_state

Owned by the alerting side (models in ``connectors/store/alerts_models.py``); chained
after the store's initial revision. A later store revision revises ``0002_alerts``.

Revision ID: 0002_alerts
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_alerts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hooks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cooldown_s", sa.Float(), nullable=True),
        sa.Column("rate_cap", sa.Integer(), nullable=True),
        sa.Column("rate_period_s", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("condition", sa.String(30), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("open_after", sa.Integer(), nullable=False),
        sa.Column("close_after", sa.Integer(), nullable=False),
        sa.Column("min_duration_s", sa.Float(), nullable=False),
        sa.Column("notify_close", sa.Boolean(), nullable=False),
        sa.Column("hook_ids", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_alert_rules_query", "alert_rules", ["query_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("last_hit_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("notified", sa.JSON(), nullable=False),
        sa.Column("open_answer_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_incidents_track", "incidents", ["rule_id", "camera_id"])
    op.create_index("ix_incidents_state", "incidents", ["state", "opened_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(250), nullable=False, unique=True),
        sa.Column("hook_id", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_incident", "deliveries", ["incident_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("retry_at", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id", "attempt"]
    )
    op.create_table(
        "alert_state",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("key", sa.String(450), primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_state")
    op.drop_index("ix_delivery_attempts_delivery", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_incident", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_incidents_state", table_name="incidents")
    op.drop_index("ix_incidents_track", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_alert_rules_query", table_name="alert_rules")
    op.drop_table("alert_rules")
    op.drop_table("hooks")
