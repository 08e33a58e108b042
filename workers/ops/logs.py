"""Process logging for the long-running roles: one format, library noise kept down.

The Kafka client logs some conditions at ERROR that it handles itself by retrying —
above all "Group Coordinator Request failed: CoordinatorNotAvailableError" while a
fresh cluster is still creating its offsets topic, and a heartbeat or commit that
meets a rebalance. An operator's alerting on ERROR lines should not fire for those,
so they are logged as WARNING (still visible); anything the client does not retry
stays an ERROR.
"""

from __future__ import annotations

import logging
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# the client modules that log retried conditions at ERROR
KAFKA_CLIENT_LOGGERS = (
    "aiokafka.consumer.group_coordinator",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.consumer",
    "aiokafka.producer.sender",
    "aiokafka.client",
    "aiokafka.conn",
    "kafka.coordinator",
    "kafka.coordinator.consumer",
)
RETRIED_WORDS = ("will retry", "will rejoin", "retrying")


def _retriable(arg: Any) -> bool:
    return bool(getattr(arg, "retriable", False)) or (
        isinstance(arg, type) and bool(getattr(arg, "retriable", False))
    )


class RetriedErrors(logging.Filter):
    """Turns the client's ERROR records about conditions it retries into WARNINGs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and self.retried(record):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

    @staticmethod
    def retried(record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        if any(_retriable(a) for a in args):
            return True
        return any(word in str(record.msg).lower() for word in RETRIED_WORDS)


def setup(level: str) -> None:
    """Log at ``level`` to stderr; the Kafka clients at WARNING, their retries not as errors."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    retried = RetriedErrors()
    for name in KAFKA_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RetriedErrors) for f in logger.filters):
            logger.addFilter(retried)
