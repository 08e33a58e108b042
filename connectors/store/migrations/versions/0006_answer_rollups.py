"""answer rollups: answers.every and .query_version, answer_runs, answer_minutes, views

Answers record the step and version of their query (nullable: old rows fall back to
the query's stored step and count as version 0). ``answer_runs`` and
``answer_minutes`` are created EMPTY: ``feedwatch db rebuild-rollups`` fills them
from stored answers in batches (this migration runs at every process start and must
stay quick). The views ``feedwatch_runs`` and ``feedwatch_minutes`` are the
documented surface for SQL dashboards (docs/answers-over-time.md).

Revision ID: 0006_answer_rollups
Revises: 0005_answer_stages
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_answer_rollups"
down_revision = "0005_answer_stages"
branch_labels = None
depends_on = None

RUNS_VIEW = """
CREATE VIEW feedwatch_runs AS
SELECT r.id AS run_id, r.query_id, q.question, r.camera_id, r.query_version,
       r.run_start AS start_s, r.run_end AS end_s, r.run_end - r.run_start AS duration_s,
       r.matched_s, r.windows, r.peak_score,
       CASE WHEN r.backfilled > 0 THEN 1 ELSE 0 END AS backfilled,
       r.backfilled AS backfilled_windows,
       {ts_start} AS started_at, {ts_end} AS ended_at
FROM answer_runs r LEFT JOIN queries q ON q.id = r.query_id
"""
MINUTES_VIEW = """
CREATE VIEW feedwatch_minutes AS
SELECT m.query_id, q.question, m.camera_id, m.minute AS minute_s, {ts_minute} AS minute_at,
       m.windows, m.yes_windows, m.matched_s, m.runs_started,
       CASE WHEN m.scored > 0 THEN m.score_sum / m.scored END AS mean_score,
       m.max_score, m.backfilled AS backfilled_windows
FROM answer_minutes m LEFT JOIN queries q ON q.id = m.query_id
"""


def _ts(column: str) -> str:
    """Epoch seconds as the dialect's timestamp (UTC)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"to_timestamp({column})"
    return f"datetime({column}, 'unixepoch')"


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("every", sa.Float(), nullable=True))
        batch.add_column(sa.Column("query_version", sa.Integer(), nullable=True))
    op.create_table(
        "answer_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("query_id", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(200), nullable=False),
        sa.Column("query_version", sa.Integer(), nullable=False),
        sa.Column("every", sa.Float(), nullable=False),
        sa.Column("run_start", sa.Float(), nullable=False),
        sa.Column("run_end", sa.Float(), nullable=False),
        sa.Column("first_end", sa.Float(), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("matched_s", sa.Float(), nullable=False),
        sa.Column("peak_score", sa.Float(), nullable=True),
        sa.Column("backfilled", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_answer_runs_series_end", "answer_runs", ["query_id", "camera_id", "run_end"]
    )
    op.create_table(
        "answer_minutes",
        sa.Column("query_id", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(200), primary_key=True),
        sa.Column("minute", sa.BigInteger(), primary_key=True),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("yes_windows", sa.Integer(), nullable=False),
        sa.Column("matched_s", sa.Float(), nullable=False),
        sa.Column("runs_started", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("backfilled", sa.Integer(), nullable=False),
        sa.Column("last_end", sa.Float(), nullable=True),
    )
    op.execute(RUNS_VIEW.format(ts_start=_ts("r.run_start"), ts_end=_ts("r.run_end")))
    op.execute(MINUTES_VIEW.format(ts_minute=_ts("m.minute")))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS feedwatch_minutes")
    op.execute("DROP VIEW IF EXISTS feedwatch_runs")
    op.drop_table("answer_minutes")
    op.drop_index("ix_answer_runs_series_end", table_name="answer_runs")
    op.drop_table("answer_runs")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("query_version")
        batch.drop_column("every")
