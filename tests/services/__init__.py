"""Real services for integration tests: Kafka, PostgreSQL, an RTSP server.

Each module starts its service on 127.0.0.1 with free ports from the project's
own code, and is also runnable by hand (``python -m tests.services.kafka``).
"""

from tests.services._common import ServiceError

__all__ = ["ServiceError"]
