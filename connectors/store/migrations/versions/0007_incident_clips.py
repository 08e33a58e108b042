"""incident clips: one row per (incident, phase) for the MP4 remuxed from its segments

Owned by the clip side (model in ``connectors/store/clips.py``); the MP4 files live
in the clip directory, the rows say where and what (docs/incidents.md).

Revision ID: 0007_incident_clips
Revises: 0006_answer_rollups
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_incident_clips"
down_revision = "0006_answer_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_clips",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("phase", sa.String(8), primary_key=True),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("file", sa.String(200), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("event_at", sa.Float(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("codec", sa.String(20), nullable=False),
        sa.Column("source_bytes", sa.Integer(), nullable=False),
        sa.Column("cpu_s", sa.Float(), nullable=False),
        sa.Column("skipped_from", sa.Float(), nullable=True),
        sa.Column("skipped_to", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_incident_clips_created", "incident_clips", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_clips_created", table_name="incident_clips")
    op.drop_table("incident_clips")
