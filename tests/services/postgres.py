"""PostgreSQL from Debian's package for integration tests.

``initdb`` in a temp dir, ``postgres`` on 127.0.0.1 with a free port (trust auth,
socket in the temp dir, dies with the test run), database ``feedwatch`` created.
PostgreSQL refuses to run as root, so as root the server runs as the system user
``feedwatch-pg`` (created when missing). :meth:`PostgresService.stop` /
:meth:`PostgresService.start` keep port and data. ``FEEDWATCH_TEST_DATABASE_URL``
uses an existing database instead.

By hand: ``python -m tests.services.postgres`` (prints the URL, runs until Ctrl-C).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

ENV_OVERRIDE = "FEEDWATCH_TEST_DATABASE_URL"
SERVICE_USER = "feedwatch-pg"
DATABASE = "feedwatch"
SUPERUSER = "postgres"


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (newest Debian version first, then PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise ServiceError(f"PostgreSQL's {name} not found; run `make system-deps`")


def _service_user() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as when we are root (None otherwise)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        run_checked(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                     "--user-group", SERVICE_USER], f"useradd {SERVICE_USER}")
        return pwd.getpwnam(SERVICE_USER)


class PostgresService(ManagedService):
    """One PostgreSQL cluster on 127.0.0.1; restartable on the same port and data."""

    def __init__(self, workdir: Path | None = None, external_url: str = "") -> None:
        self.external_url = external_url
        self._own_workdir = workdir is None and not external_url
        if workdir is None:
            temp = tempfile.gettempdir() if external_url else tempfile.mkdtemp(prefix="fw-pg-")
            workdir = Path(temp)
        self.workdir = Path(workdir)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._user = None if external_url else _service_user()

    @classmethod
    def from_env(cls) -> PostgresService:
        """An external database when FEEDWATCH_TEST_DATABASE_URL is set, else a managed one."""
        return cls(external_url=os.environ.get(ENV_OVERRIDE, "").strip())

    @property
    def external(self) -> bool:
        return bool(self.external_url)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``feedwatch`` database."""
        if self.external_url:
            return self.external_url
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def bin(self, name: str) -> str:
        """Path of a server program (Debian's; a subclass may ship its own)."""
        return pg_bin(name)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"


    def start(self, timeout: float = 60) -> PostgresService:
        """initdb on first use, start the server, create the database, wait for it."""
        began = time.monotonic()
        if self.external or self.running:
            return self
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self.port = self.port or free_port()
        self.proc = spawn([self.bin("postgres"), "-D", str(self.data_dir), "-p", str(self.port)],
                          self.log_path, cwd=self.workdir, **self._as_service_user())
        try:
            wait_until(self._accepts, timeout, "PostgreSQL", self.proc, self.log_path)
            self._create_database()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, graceful: bool = True) -> None:
        """Stop the server; data and port are kept.

        ``graceful``: fast shutdown (SIGINT: sessions are disconnected, a checkpoint is
        written); otherwise SIGKILL, like a crash (recovery runs at the next start).
        """
        if self.external:
            raise ServiceError("cannot stop the external database")
        stop_process(self.proc, grace=30, sig=signal.SIGINT if graceful else signal.SIGKILL)
        self.proc = None




    def _initdb(self) -> None:
        if self._user is not None:
            os.chown(self.workdir, self._user.pw_uid, self._user.pw_gid)
        run_checked([self.bin("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync"], "initdb", cwd=self.workdir,
                    **self._as_service_user())
        conf = "\n".join([
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.workdir}'",
            # No fsync: fast, and a killed server (a process crash) still loses nothing
            # committed; synchronous_commit stays on for that reason.
            "fsync = off", "full_page_writes = off",
            "max_connections = 200", "shared_buffers = 64MB", "log_timezone = 'UTC'",
            "timezone = 'UTC'",
        ])
        with open(self.data_dir / "postgresql.conf", "a") as handle:
            handle.write("\n# feedwatch tests\n" + conf + "\n")

    def _accepts(self) -> bool:
        import psycopg

        if not port_open(self.port):
            return False
        try:
            psycopg.connect(self._dsn("postgres"), connect_timeout=5).close()
            return True
        except psycopg.OperationalError:
            return False

    def _dsn(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname}"

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _as_service_user(self) -> dict[str, Any]:
        """Popen arguments that run a PostgreSQL program as the service user (as root)."""
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.workdir)}}

    def __enter__(self) -> PostgresService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> int:
    """Run a PostgreSQL server until Ctrl-C."""
    with PostgresService() as pg:
        print(f"url: {pg.url}  (started in {pg.startup_seconds:.1f}s; log {pg.log_path}); "
              "Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
