"""Slack hook URLs encrypted at rest (no schema change)

A Slack incoming-webhook URL is its own credential: whoever reads it can post to the
channel. Hooks of the types in :data:`connectors.store.secret_rows.URL_IS_SECRET` keep
their URL sealed in ``hooks.url`` (``fwenc1:`` + Fernet, the same box as the hook
secrets of 0008; the column is ``TEXT``, so the token fits). This revision seals the
URLs stored in clear under the key of the process that runs the upgrade
(``FEEDWATCH_SECRETS_KEY`` / ``_FILE``, or the box handed to
:func:`connectors.store.db.upgrade`). With plaintext Slack URLs stored and no key, the
upgrade is REFUSED before anything changes, naming the setting; a store without Slack
hooks needs no key. The downgrade opens them again.

Revision ID: 0010_sealed_hook_urls
Revises: 0009_backfill_jobs
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

from connectors.store.secret_box import SecretBox
from connectors.store.secret_rows import HOOK_URL, migration_box, open_all, seal_for_upgrade

revision = "0010_sealed_hook_urls"
down_revision = "0009_backfill_jobs"
branch_labels = None
depends_on = None
KINDS = (HOOK_URL,)


def _box() -> SecretBox | None:
    return migration_box(op.get_context().config.attributes)


def upgrade() -> None:
    seal_for_upgrade(op.get_bind(), _box(), KINDS)  # first: nothing changed if it refuses


def downgrade() -> None:
    open_all(op.get_bind(), _box(), KINDS)
