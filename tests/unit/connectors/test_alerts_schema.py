"""The alert tables' migration matches their models (nothing for autogenerate to add)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import connectors.store.alerts_models as alerts_models
from connectors.store import Store


def test_alert_tables_migrate_exactly_as_modelled(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    tables = {
        t
        for t in alerts_models.Base.metadata.tables
        if t
        in {"hooks", "alert_rules", "incidents", "deliveries", "delivery_attempts", "alert_state"}
    }
    assert len(tables) == 6
    assert tables <= set(sa.inspect(store.engine).get_table_names())
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}),
            alerts_models.Base.metadata,
        )
    assert [d for d in diff if any(t in repr(d) for t in tables)] == []
    store.close()
