"""frames (the frame index), answers.backfilled, evidence by camera and time

``frames`` keeps every encoded frame's embedding, time, model id and thumbnail;
``frame_groups`` one mean embedding per camera-minute, which search ranks first
(models: ``connectors/store/frames/schema.py``). On PostgreSQL with pgvector
available the embedding is a ``halfvec`` column (the extension is created here;
HNSW indexes are made per embedding size by the frame index on first write);
elsewhere it is a float16 blob searched exactly. ``answers.backfilled`` marks
answers computed over stored history; ``ix_evidence_camera_end`` lets retention
delete old evidence per camera in small batches.

Revision ID: 0004_frame_index
Revises: 0003_answer_feedback
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType

revision = "0004_frame_index"
down_revision = "0003_answer_feedback"
branch_labels = None
depends_on = None


class _HalfVec(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "halfvec"


def _pgvector(bind: Any) -> bool:
    """Whether the vector extension is (or could be made) available here."""
    if bind.dialect.name != "postgresql":
        return False
    installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
    if installed.first() is not None:
        return True
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if available is None:
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError:
        return False  # no privilege: keep the portable blob column
    return True


def upgrade() -> None:
    bind = op.get_bind()
    embedding: Any = _HalfVec() if _pgvector(bind) else sa.LargeBinary()
    op.create_table(
        "frames",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("embedding", embedding, nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.Column("grid", sa.LargeBinary(), nullable=True),
        sa.Column("grid_h", sa.Integer(), nullable=True),
        sa.Column("grid_w", sa.Integer(), nullable=True),
        sa.Column("frame_h", sa.Integer(), nullable=False),
        sa.Column("frame_w", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("camera_id", "t", "model_id", name="uq_frames_frame"),
    )
    op.create_index("ix_frames_camera_t", "frames", ["camera_id", "t"])
    op.create_index("ix_frames_t", "frames", ["t"])
    op.create_table(
        "frame_groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("embedding", embedding, nullable=False),
        sa.UniqueConstraint("camera_id", "start", "model_id", name="uq_frame_groups_group"),
    )
    op.create_index("ix_frame_groups_start", "frame_groups", ["start"])
    with op.batch_alter_table("answers") as batch:
        batch.add_column(
            sa.Column("backfilled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_evidence_camera_end", "evidence", ["camera_id", "window_end"])


def downgrade() -> None:
    op.drop_index("ix_evidence_camera_end", table_name="evidence")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("backfilled")
    op.drop_index("ix_frame_groups_start", table_name="frame_groups")
    op.drop_table("frame_groups")
    op.drop_index("ix_frames_t", table_name="frames")
    op.drop_index("ix_frames_camera_t", table_name="frames")
    op.drop_table("frames")
