"""dead_letters: the dead letters the sink read off the ``deadletter`` topic

A record that could not be processed (a corrupt segment, a malformed message, an
answer the store refused) went to the ``deadletter`` topic and its line in a log; in
an embedded run the topic lives in memory and was gone when the run ended. The sink
now keeps each one as a row (where it came from, why, the size of what it carried),
so ``feedwatch deadletters`` and ``GET /api/deadletters`` answer "what was dropped,
and why" in both modes. Unique on the dead letter's own partition and offset.

Revision ID: 0012_dead_letters
Revises: 0011_answerer_samples
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_dead_letters"
down_revision = "0011_answerer_samples"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dl_partition", sa.Integer(), nullable=False),
        sa.Column("dl_offset", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("camera", sa.String(200), nullable=False),
        sa.Column("error_type", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value_bytes", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("dl_partition", "dl_offset", name="uq_dead_letters_place"),
    )
    op.create_index("ix_dead_letters_at", "dead_letters", ["at"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_at", table_name="dead_letters")
    op.drop_table("dead_letters")
