"""Process logging: the Kafka client's retried conditions are warnings, real errors stay."""

from __future__ import annotations

import logging

import pytest
from aiokafka import errors

from workers.ops import logs


def test_retried_client_errors_log_as_warnings_and_others_stay_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logs.setup("info")
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    with caplog.at_level(logging.WARNING):
        coordinator.error("Group Coordinator Request failed: %s",
                          errors.CoordinatorNotAvailableError())
        coordinator.error("Heartbeat send request failed: %s. Will retry.", OSError("reset"))
        coordinator.error("Attempt to join group failed due to fatal error: %s",
                          errors.GroupAuthorizationFailedError())
    levels = [r.levelname for r in caplog.records]
    assert levels == ["WARNING", "WARNING", "ERROR"]
    logs.setup("info")  # idempotent: one filter per logger
    assert sum(isinstance(f, logs.RetriedErrors) for f in coordinator.filters) == 1
