"""secrets encrypted at rest; query_failures (why a standing query was set aside)

Secrets: every plaintext hook secret and the link-signing key kept in ``alert_state``
are sealed (``fwenc1:`` + Fernet, :mod:`connectors.store.secret_box`) under the key of
the process that runs the upgrade (``FEEDWATCH_SECRETS_KEY`` / ``_FILE``, or the box
handed to :func:`connectors.store.db.upgrade`). With plaintext secrets stored and no
key, the upgrade is REFUSED before anything changes, with a message naming the
setting: going on would leave them readable. A store without secrets needs no key.

``query_failures``: one row per query, the newest failure the workers reported (the
answerer could not be built, or raised while answering), with the query version it
applies to; the query is shown ``failed`` while that version is current, so a new
version clears it.

Revision ID: 0008_sealed_secrets
Revises: 0007_incident_clips
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connectors.store.secret_box import SecretBox
from connectors.store.secret_rows import (
    HOOK_SECRET,
    LINK_KEY,
    migration_box,
    open_all,
    seal_for_upgrade,
)

revision = "0008_sealed_secrets"
down_revision = "0007_incident_clips"
branch_labels = None
depends_on = None
KINDS = (HOOK_SECRET, LINK_KEY)  # what this revision seals (0010 seals Slack URLs)


def _box() -> SecretBox | None:
    return migration_box(op.get_context().config.attributes)


def upgrade() -> None:
    seal_for_upgrade(op.get_bind(), _box(), KINDS)  # first: nothing changed if it refuses
    op.create_table(
        "query_failures",
        sa.Column("query_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("camera", sa.String(200), nullable=False),
        sa.Column("error_type", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    open_all(op.get_bind(), _box(), KINDS)
    op.drop_table("query_failures")
