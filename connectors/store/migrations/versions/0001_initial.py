"""cameras, queries, answers, evidence

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "queries",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("every", sa.Float(), nullable=False),
        sa.Column("window", sa.Float(), nullable=False),
        sa.Column("answerer", sa.String(50), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("evaluated_at", sa.Float(), nullable=False),
        sa.Column("answerer", sa.String(50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("frames", sa.JSON(), nullable=False),
        sa.Column("rois", sa.JSON(), nullable=False),
        sa.Column("visual_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("model_ids", sa.JSON(), nullable=False),
        sa.UniqueConstraint("query_id", "camera_id", "window_end", name="uq_answers_window"),
    )
    op.create_index("ix_answers_camera_end", "answers", ["camera_id", "window_end"])
    op.create_index("ix_answers_evaluated", "answers", ["evaluated_at"])
    op.create_table(
        "evidence",
        sa.Column("query_id", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(200), primary_key=True),
        sa.Column("window_end", sa.Float(), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id", "camera_id", "window_end"],
            ["answers.query_id", "answers.camera_id", "answers.window_end"],
            name="fk_evidence_answer",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("evidence")
    op.drop_index("ix_answers_evaluated", table_name="answers")
    op.drop_index("ix_answers_camera_end", table_name="answers")
    op.drop_table("answers")
    op.drop_table("queries")
    op.drop_table("cameras")
