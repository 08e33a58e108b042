"""backfill jobs: backfills (one row per job: query, range, state, progress, owner)

Owned by the history side (model in ``connectors/store/backfills/schema.py``); the API
queues a job when a query is created with ``backfill`` and its runner thread claims
and runs it (``workers/history/jobs.py``). ``owner`` and ``heartbeat_at`` tell a live
job from one whose process stopped; finished jobs past the newest 1000 are deleted as
new ones are created.

Revision ID: 0009_backfill_jobs
Revises: 0008_sealed_secrets
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_backfill_jobs"
down_revision = "0008_sealed_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("since", sa.Float(), nullable=True),
        sa.Column("until", sa.Float(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("windows_done", sa.Integer(), nullable=False),
        sa.Column("windows_total", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("heartbeat_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_backfills_query", "backfills", ["query_id", "created_at"])
    op.create_index("ix_backfills_state", "backfills", ["state", "heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_backfills_state", table_name="backfills")
    op.drop_index("ix_backfills_query", table_name="backfills")
    op.drop_table("backfills")
