"""Apache Kafka 4.x (KRaft, one node as broker+controller) for integration tests.

The jars come from Maven Central through Maven (``kafka-pom.xml`` +
``dependency:copy-dependencies``) and are cached in
``~/.cache/feedwatch/kafka-<version>/jars``. The broker listens on 127.0.0.1 with
free ports; :meth:`KafkaService.stop` / :meth:`KafkaService.start` keep the ports
and the data directory, so fault-injection tests can take the broker away and
bring it back. ``FEEDWATCH_TEST_KAFKA=host:port`` uses an existing broker instead.

By hand: ``python -m tests.services.kafka`` (prints the bootstrap address, runs
until Ctrl-C); ``python -m tests.services.kafka --fetch-only`` only fills the cache.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from tests.services._common import (
    ManagedService,
    ServiceError,
    cache_root,
    free_port,
    port_open,
    run_checked,
    spawn,
    stop_process,
    wait_until,
)

POM = Path(__file__).with_name("kafka-pom.xml")
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


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version the pom asks for."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not found:
        raise ServiceError(f"{pom}: no <kafka.version> property")
    return found.group(1).strip()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_jars(pom: Path = POM) -> Path:
    """The directory of Kafka's jars, resolved with Maven on first use (then cached)."""
    home = cache_root() / f"kafka-{kafka_version(pom)}"
    jars, done = home / "jars", home / ".complete"
    if done.exists():
        return jars
    home.mkdir(parents=True, exist_ok=True)
    with _file_lock(home / ".lock"):
        if not done.exists():
            _download(pom, home, jars)
            done.touch()
    return jars


def _download(pom: Path, home: Path, jars: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("Maven (mvn) is not installed; run `make system-deps`")
    staging = home / "jars.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="feedwatch-mvn-") as build:
        shutil.copy(pom, Path(build) / "pom.xml")
        run_checked(
            [mvn, "-q", "-B", "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={staging}"],
            "mvn dependency:copy-dependencies (Kafka jars)",
            timeout=900,
            cwd=build,
        )
    shutil.rmtree(jars, ignore_errors=True)
    staging.rename(jars)


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        raise ServiceError("java is not installed; run `make system-deps`")
    return java


def _cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64 without padding.

    Like Kafka's ``Uuid.randomUuid`` it never starts with ``-`` (read as an option).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


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
            self.port, self.controller_port = free_port(), free_port()
            while self.controller_port == self.port:
                self.controller_port = free_port()
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
        (self.workdir / "log4j2.properties").write_text(LOG4J2)
        (self.workdir / "server.properties").write_text(self._properties(data))
        if not (data / "meta.properties").exists():
            data.mkdir(parents=True, exist_ok=True)
            run_checked(
                self._command(fetch_jars(), "kafka.tools.StorageTool", "format",
                              f"--cluster-id={_cluster_id()}", "-c", "server.properties",
                              "--standalone"),
                "kafka-storage format", timeout=120, cwd=self.workdir,
            )

    def _properties(self, data: Path) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
