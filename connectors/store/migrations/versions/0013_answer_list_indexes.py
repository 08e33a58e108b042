"""answer list indexes: newest-first pages read an index, not the whole table

``GET /api/answers`` (and the dashboard's timeline of a question) lists answers newest
window first, keyset-paged on (window_end, id). Without a filter nothing indexed that
order, and with ``query_id`` only the unique (query_id, camera_id, window_end) key
matched, so every page read and sorted every stored answer (of the question): seconds
on a store with months of history. These two indexes give both orders directly; a page
reads its own rows only, however deep it is.

Revision ID: 0013_answer_list_indexes
Revises: 0012_dead_letters
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0013_answer_list_indexes"
down_revision = "0012_dead_letters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_answers_end_id", "answers", ["window_end", "id"])
    op.create_index("ix_answers_query_end_id", "answers", ["query_id", "window_end", "id"])


def downgrade() -> None:
    op.drop_index("ix_answers_query_end_id", table_name="answers")
    op.drop_index("ix_answers_end_id", table_name="answers")
