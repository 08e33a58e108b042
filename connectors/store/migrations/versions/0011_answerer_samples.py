"""answerer_samples: the clip answerer's saved trackers one window per row

Until now a worker rewrote a (query, camera)'s whole tracker as one JSON document in
``answerer_state.state`` after every window it judged: with 15 minutes of 1-second
windows, ~50 KB per window per (query, camera), most of it unchanged. The windows now
live in ``answerer_samples`` (one row each, keyed by window end) and a worker writes
only what changed; ``answerer_state`` keeps the rule version (``state = {"v": N}``),
the newest window's end and the version stamp a writer must have read. This revision
moves the windows of every saved tracker into rows; the downgrade folds them back.

Revision ID: 0011_answerer_samples
Revises: 0010_sealed_hook_urls
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_answerer_samples"
down_revision = "0010_sealed_hook_urls"
branch_labels = None
depends_on = None

COLUMNS = ("window_end", "score", "support", "unit", "verdict")
STATES = sa.table("answerer_state", sa.column("query_id", sa.String), sa.column(
    "camera_id", sa.String), sa.column("state", sa.JSON))
SAMPLES = sa.table("answerer_samples", sa.column("query_id", sa.String),
                   sa.column("camera_id", sa.String),
                   *(sa.column(c, sa.Integer if c == "verdict" else sa.Float) for c in COLUMNS))


def upgrade() -> None:
    op.create_table(
        "answerer_samples",
        sa.Column("query_id", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(200), primary_key=True),
        sa.Column("window_end", sa.Float(), primary_key=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("unit", sa.Float(), nullable=False),
        sa.Column("verdict", sa.Integer(), nullable=False),
    )
    bind = op.get_bind()
    for query_id, camera_id, state in bind.execute(
            sa.select(STATES.c.query_id, STATES.c.camera_id, STATES.c.state)).all():
        state = state or {}
        kept = state.get("samples", []) if state.get("v") == 2 else []  # others start afresh
        rows = {float(s[0]): {"query_id": query_id, "camera_id": camera_id,
                              **dict(zip(COLUMNS, s, strict=True))}
                for s in kept if isinstance(s, list) and len(s) == len(COLUMNS)}
        if rows:
            bind.execute(SAMPLES.insert(), list(rows.values()))
        bind.execute(STATES.update().where(_key(STATES, query_id, camera_id))
                     .values(state={"v": state.get("v")}))


def downgrade() -> None:
    bind = op.get_bind()
    for query_id, camera_id, state in bind.execute(
            sa.select(STATES.c.query_id, STATES.c.camera_id, STATES.c.state)).all():
        samples = bind.execute(sa.select(*(SAMPLES.c[c] for c in COLUMNS))
                               .where(_key(SAMPLES, query_id, camera_id))
                               .order_by(SAMPLES.c.window_end)).all()
        folded = {"v": (state or {}).get("v"), "samples": [list(s) for s in samples],
                  "labels": []}
        bind.execute(STATES.update().where(_key(STATES, query_id, camera_id))
                     .values(state=folded))
    op.drop_table("answerer_samples")


def _key(table: Any, query_id: str, camera_id: str) -> Any:
    return (table.c.query_id == query_id) & (table.c.camera_id == camera_id)
