"""Alembic environment: runs on the connection handed in by ``connectors.store.db``.

Run programmatically (``Store.upgrade()`` / ``feedwatch db upgrade``); with the
``alembic`` CLI, set ``sqlalchemy.url`` in the config instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import connectors.store.alerts_models  # noqa: F401  (the alert tables, on the same Base)
import connectors.store.backfills.schema  # noqa: F401  (backfill jobs, on the same Base)
import connectors.store.clips  # noqa: F401  (incident clips, on the same Base)
import connectors.store.feedback  # noqa: F401  (answer feedback, on the same Base)
import connectors.store.frames.schema  # noqa: F401  (the frame index, on the same Base)
import connectors.store.segment_index  # noqa: F401  (where segments sit in Kafka)
import connectors.store.tracker_states  # noqa: F401  (the clip answerer's saved trackers)
from connectors.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copes
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
