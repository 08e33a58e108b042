"""Store errors say what failed, never the SQL or its parameters, and tell a refused
value (the caller's input) from an outage (issue 26)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.db import store_errors
from pipeline.errors import StoreDataError, StoreError

SECRET = "s3cr3t-param-value"


def test_a_refused_value_is_a_store_data_error_without_sql_or_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    store.upsert_camera("dock")
    insert = sa.text("INSERT INTO cameras (id, uri, created_at) VALUES (:id, :uri, :t)")
    with caplog.at_level(logging.INFO), pytest.raises(StoreDataError) as refused:
        with store_errors("saving the camera"), store.engine.begin() as conn:
            conn.execute(insert, {"id": "dock", "uri": SECRET, "t": time.time()})
    text = str(refused.value)
    assert text.startswith("saving the camera: IntegrityError: UNIQUE constraint failed")
    assert SECRET not in text and "INSERT" not in text
    assert refused.value.__cause__ is None  # a logged traceback cannot show the SQL either
    assert SECRET not in caplog.text and "INSERT" not in caplog.text
    store.close()


def test_an_outage_is_a_plain_store_error(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(StoreError) as failed, store_errors("reading"), store.engine.connect() as c:
        c.execute(sa.text("SELECT * FROM no_such_table WHERE id = :id"), {"id": SECRET})
    assert not isinstance(failed.value, StoreDataError)
    assert SECRET not in str(failed.value) and "SELECT" not in str(failed.value)
    store.close()
