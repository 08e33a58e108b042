"""The soak's API process and the hostile client that probes it.

``feedwatch api --kafka`` runs on the stack's store with a read and a write token of
its own (random: the API refuses the example ``change-me-*`` ones) and the stack's
``FEEDWATCH_SECRETS_KEY``; it is one more process the soak supervises and samples.
The hostile client (:mod:`workers.soak.hostile`) sends issue 26's probes to it during
the run and puts refused query messages on the ``queries`` topic.
"""

from __future__ import annotations

import secrets
import socket
from typing import Any

from workers.soak.hostile import HostileClient

READY = "Uvicorn running"
INTERVAL_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SoakApi:
    """Starts ``feedwatch api`` in a cluster; hands out the hostile client."""

    def __init__(self, bootstrap: str, interval_s: float = INTERVAL_S) -> None:
        self.bootstrap = bootstrap
        self.interval_s = interval_s
        self.port = free_port()
        self.read_token = f"soak-read-{secrets.token_urlsafe(24)}"
        self.write_token = f"soak-write-{secrets.token_urlsafe(24)}"
        self.client: HostileClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "FEEDWATCH_API_READ_TOKENS": self.read_token,
            "FEEDWATCH_API_WRITE_TOKENS": self.write_token,
            "FEEDWATCH_API_HOST": "127.0.0.1",
            "FEEDWATCH_API_PORT": str(self.port),
        }

    def spawn(self, cluster: Any) -> Any:
        return cluster.spawn("api", "api", "--kafka", self.bootstrap, env=self.env())

    def start_client(self, prefix: str, db_url: str) -> HostileClient:
        self.client = HostileClient(
            self.url, self.write_token, self.read_token, self.interval_s,
            put_queries=lambda records: put_records(self.bootstrap, f"{prefix}queries", records),
            nul_storable=db_url.startswith("sqlite"),
        ).start()
        return self.client

    def stop_client(self) -> None:
        if self.client is not None:
            self.client.stop()


def put_records(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
                headers: list[tuple[str, bytes]] | None = None) -> None:
    """Each (key, value) on ``topic``, with ``schema: 1`` and the soak's fuzz mark."""
    from kafka import KafkaProducer

    from connectors.kafka.clients import kafka_client
    from workers.config import KafkaSettings
    from workers.soak.report import FUZZ_HEADER

    producer = kafka_client(KafkaProducer, KafkaSettings(bootstrap=bootstrap), acks="all")
    try:
        for key, value in records:
            marks = [("schema", b"1"), (FUZZ_HEADER, key), *(headers or [])]
            producer.send(topic, key=key, value=value, headers=marks).get(30)
    finally:
        producer.close()
