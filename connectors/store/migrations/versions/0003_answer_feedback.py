"""answer_feedback, answerer_state: user corrections and the clip answerer's running baseline

``answer_feedback`` keeps one verdict per answer (the latest wins) with the answer's
query, camera, window end and score copied in, so a correction still counts after the
answer itself has been pruned. ``answerer_state`` keeps, per (query, camera), the
recent window scores the adaptive ``clip`` answerer judges against; a worker that
takes over a camera loads it and carries on where the previous one stopped.

Revision ID: 0003_answer_feedback
Revises: 0002_alerts
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_answer_feedback"
down_revision = "0002_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("answer_id", name="uq_answer_feedback_answer"),
    )
    op.create_index(
        "ix_answer_feedback_query_camera", "answer_feedback", ["query_id", "camera_id"]
    )
    op.create_table(
        "answerer_state",
        sa.Column("query_id", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(200), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("last_window_end", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("answerer_state")
    op.drop_index("ix_answer_feedback_query_camera", table_name="answer_feedback")
    op.drop_table("answer_feedback")
