"""Apache Kafka 4.x (KRaft, one node as broker+controller) for integration tests.

The jars come from Maven Central through Maven (``kafka-pom.xml`` +
``dependency:copy-dependencies``) and are cached in
``~/.cache/feedwatch/kafka-<version>/jars``. The broker listens on 127.0.0.1 with
free ports; :meth:`KafkaService.stop` / :meth:`KafkaService.start` keep the ports
and the data directory, so fault-injection tests can take the broker away and
bring it back. ``FEEDWATCH_TEST_KAFKA=host:port`` uses an existing broker instead.

Beside PLAINTEXT (:attr:`KafkaService.bootstrap`) a managed broker listens with
SASL/SCRAM (:attr:`~KafkaService.sasl_bootstrap`) and SASL/SCRAM over TLS
(:attr:`~KafkaService.ssl_bootstrap`, CA in :attr:`~KafkaService.tls`), one user
:attr:`~KafkaService.scram` (see :mod:`tests.services.kafka_auth`).

By hand: ``python -m tests.services.kafka`` (prints the bootstrap address, runs
until Ctrl-C); ``python -m tests.services.kafka --fetch-only`` only fills the cache.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from subprocess import Popen

from tests.services._common import (
    ManagedService,
    ServiceError,
    free_port,
    port_open,
    run_checked,
    spawn,
    stop_process,
    wait_until,
)
from tests.services.kafka_auth import ScramUser, TlsFiles, listener_properties, listeners, make_tls
from tests.services.kafka_jars import _java, fetch_jars

ENV_OVERRIDE = "FEEDWATCH_TEST_KAFKA"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{ISO8601}{UTC}] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
"""


def _cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64 without padding.

    Like Kafka's ``Uuid.randomUuid`` it never starts with ``-`` (read as an option).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _distinct_ports(n: int) -> list[int]:
    """``n`` different free ports."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def broker_answers(bootstrap: str, timeout_ms: int = 5000) -> bool:
    """Whether a Kafka broker at ``bootstrap`` serves metadata (lists topics)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, client_id="feedwatch-probe"
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


class KafkaService(ManagedService):
    """One KRaft node on 127.0.0.1; restartable on the same ports and data."""

    def __init__(self, workdir: Path | None = None, heap: str = "512m", external: str = "") -> None:
        """``external="host:port"`` wraps an existing broker (no start/stop)."""
        self._own_workdir = workdir is None and not external
        if workdir is None:
            temp = tempfile.gettempdir() if external else tempfile.mkdtemp(prefix="fw-kafka-")
            workdir = Path(temp)
        self.workdir = Path(workdir)
        self.heap = heap
        self.port = 0
        self.controller_port = 0
        self.sasl_port = self.ssl_port = 0
        self.scram: ScramUser | None = None if external else ScramUser.new()
        self.tls: TlsFiles | None = None
        self.proc: Popen[bytes] | None = None
        self.external = bool(external)
        self._host = "127.0.0.1"
        self.startup_seconds = 0.0
        if external:
            host, _, port = external.rpartition(":")
            self._host, self.port = host or "127.0.0.1", int(port)

    @classmethod
    def from_env(cls) -> KafkaService:
        """An external broker when FEEDWATCH_TEST_KAFKA is set, else a managed one."""
        return cls(external=os.environ.get(ENV_OVERRIDE, "").strip())

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the PLAINTEXT listener."""
        return f"{self._host}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        """``host:port`` of the SASL_PLAINTEXT (SCRAM) listener; "" on an external broker."""
        return f"127.0.0.1:{self.sasl_port}" if self.sasl_port else ""

    @property
    def ssl_bootstrap(self) -> str:
        """``host:port`` of the SASL_SSL (SCRAM over TLS) listener; "" on an external broker."""
        return f"127.0.0.1:{self.ssl_port}" if self.ssl_port else ""

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"


    def start(self, timeout: float = 90) -> KafkaService:
        """Start (or restart) the broker and wait until it serves metadata."""
        began = time.monotonic()
        if self.external:
            wait_until(lambda: broker_answers(self.bootstrap), timeout, f"Kafka {self.bootstrap}")
            return self
        if self.running:
            return self
        jars = fetch_jars()
        if not self.port:
            self.port, self.controller_port, self.sasl_port, self.ssl_port = _distinct_ports(4)
        self._write_config()
        self.proc = spawn(self._command(jars, "kafka.Kafka", "server.properties"), self.log_path,
                          cwd=self.workdir)
        try:
            wait_until(self._ready, timeout, f"Kafka broker {self.bootstrap}", self.proc,
                       self.log_path)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _ready(self) -> bool:
        return port_open(self.port) and broker_answers(self.bootstrap)

    def stop(self, graceful: bool = True) -> None:
        """Stop the broker; data and ports are kept.

        ``graceful``: SIGTERM (controlled shutdown), SIGKILL after 30 s; otherwise
        SIGKILL at once, like a crash.
        """
        if self.external:
            raise ServiceError(f"cannot stop the external broker {self.bootstrap}")
        stop_process(self.proc, grace=30, sig=signal.SIGTERM if graceful else signal.SIGKILL)
        self.proc = None




    def _command(self, jars: Path, main: str, *args: str) -> list[str]:
        return [
            # C1 only + serial GC: about half the start-up CPU on a small shared machine.
            _java(), "-Xms128m", f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp", f"{jars}/*", main, *args,
        ]

    def _write_config(self) -> None:
        data = self.workdir / "data"
        self.tls = make_tls(self.workdir / "tls")
        (self.workdir / "log4j2.properties").write_text(LOG4J2)
        (self.workdir / "server.properties").write_text(self._properties(data))
        if not (data / "meta.properties").exists():
            data.mkdir(parents=True, exist_ok=True)
            run_checked(
                self._command(fetch_jars(), "kafka.tools.StorageTool", "format",
                              f"--cluster-id={_cluster_id()}", "-c", "server.properties",
                              "--standalone", *self._scram().format_args()),
                "kafka-storage format", timeout=120, cwd=self.workdir,
            )

    def _scram(self) -> ScramUser:
        if self.scram is None:
            raise ServiceError("an external broker has no test SCRAM user")
        return self.scram

    def _properties(self, data: Path) -> str:
        assert self.tls is not None
        auth, auth_map = listeners(self.sasl_port, self.ssl_port)
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:"
                         f"{self.controller_port},{auth}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},{auth}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map":
                f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,{auth_map}",
            **listener_properties(self.tls),
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "log.dirs": str(data),
            "num.partitions": "1",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
            "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def __enter__(self) -> KafkaService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """Fill the jar cache (``--fetch-only``) or run a broker until Ctrl-C."""
    if "--fetch-only" in argv:
        began = time.monotonic()
        jars = fetch_jars()
        print(f"kafka jars: {jars} ({len(list(jars.glob('*.jar')))} jars, "
              f"{time.monotonic() - began:.1f}s)")
        return 0
    with KafkaService() as kafka:
        print(f"bootstrap: {kafka.bootstrap}  (started in {kafka.startup_seconds:.1f}s; "
              f"log {kafka.log_path}); Ctrl-C stops", flush=True)
        try:
            while kafka.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
