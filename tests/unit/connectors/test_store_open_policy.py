"""One policy for a store that cannot be reached at start: one-shot commands fail at
once in one line naming the URL without its password; long-running roles wait, logging
each try. A refused port stands in for a database that is down (no service needed)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.retry import RetryPolicy
from connectors.store import open_store
from pipeline.errors import StoreError, StoreUnreachable
from workers.cli.main import main

PASSWORD = "Sup3rSecretPW"


@pytest.fixture
def down_url() -> str:
    """A PostgreSQL URL, with a password, on a port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://feed:{PASSWORD}@127.0.0.1:{port}/feedwatch"


def test_one_shot_commands_fail_fast_in_one_line(
    down_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: ``queries list``, ``report`` and ``backfills list`` retried for 13 s while
    ``answers`` and the rest failed at once, each with "migration failed"."""
    for argv in (["queries", "list"], ["report"], ["backfills", "list"], ["answers"]):
        began = time.monotonic()
        assert main([*argv, "--db", down_url]) == 1
        assert time.monotonic() - began < 5, argv
        err = capsys.readouterr().err
        assert err.startswith("error: cannot reach the store at postgresql+psycopg://feed:***@")
        assert "FEEDWATCH_STORE_URL" in err and err.count("\n") == 1
        assert PASSWORD not in err


def test_a_long_running_role_waits_and_says_so(
    down_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    quick = RetryPolicy(initial=0.01, maximum=0.02, attempts=3)
    with caplog.at_level(logging.WARNING), pytest.raises(StoreUnreachable):
        open_store(down_url, wait=True, retry=quick)
    tries = [r.getMessage() for r in caplog.records if "cannot reach the store" in r.getMessage()]
    assert len(tries) == 2 and all("retrying in" in t for t in tries)
    assert PASSWORD not in caplog.text


def test_a_store_that_waiting_cannot_mend_is_not_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a newer feedwatch migrated it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with caplog.at_level(logging.WARNING), pytest.raises(StoreError) as failed:
        open_store(url, wait=True, retry=RetryPolicy(initial=0.01, maximum=0.02, attempts=3))
    assert not isinstance(failed.value, StoreUnreachable)
    assert "9999_future" in str(failed.value) and "retrying" not in caplog.text
