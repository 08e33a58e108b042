"""incident clips: incident_clips (one row per incident and phase), segment_index

Owned by the clip side (models in ``connectors/store/clips.py`` and
``connectors/store/segment_index.py``); the MP4 files live in the clip directory, the
rows say where and what; ``segment_index`` says where each segment record sits in the
``segments`` topic by stream time (docs/incidents.md).

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
    op.create_table(
        "segment_index",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("kafka_offset", sa.Integer(), primary_key=True),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("lead", sa.Float(), nullable=False),
        sa.Column("produced_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_segment_index_time", "segment_index", ["camera_id", "start_s"])


def downgrade() -> None:
    op.drop_index("ix_segment_index_time", table_name="segment_index")
    op.drop_table("segment_index")
    op.drop_index("ix_incident_clips_created", table_name="incident_clips")
    op.drop_table("incident_clips")
