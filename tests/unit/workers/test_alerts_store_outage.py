"""While the store is down the alert loops keep going and log one line, not a flood."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from workers.alerts.engine import AlertService


def test_store_outage_is_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    service = AlertService(evaluator=None, worker=None, poll_s=0.01)  # type: ignore[arg-type]

    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused\nDETAIL: long"))

    with caplog.at_level(logging.DEBUG, logger="feedwatch.alerts"):
        results = [service._guard(down) for _ in range(50)]
    assert results == [None] * 50
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "store unavailable" in errors[0].getMessage() and errors[0].exc_info is None
