"""answers.stages: what each stage of a multi-stage answerer said

A ``cascade`` answer records its CLIP stage (score, threshold, decision), its VLM
stage (text, verdict, tokens, or the window its verdict was reused from) and which
stage decided; other answerers leave it empty. Nullable, so old rows need no rewrite.

Revision ID: 0005_answer_stages
Revises: 0004_frame_index
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_answer_stages"
down_revision = "0004_frame_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("stages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("stages")
