"""PostgreSQL from Debian's package for integration tests.

``initdb`` in a temp dir, ``pg_ctl`` on 127.0.0.1 with a free port (trust auth,
socket in the temp dir), database ``feedwatch`` created. PostgreSQL refuses to run
as root, so as root the server runs as the system user ``feedwatch-pg`` (created
when missing). :meth:`PostgresService.stop` / :meth:`PostgresService.start` keep
port and data. ``FEEDWATCH_TEST_DATABASE_URL`` uses an existing database instead.

By hand: ``python -m tests.services.postgres`` (prints the URL, runs until Ctrl-C).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.services._common import (
    ServiceError,
    free_port,
    log_tail,
    port_open,
    run_checked,
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


class PostgresService:
    """One PostgreSQL cluster on 127.0.0.1; restartable on the same port and data."""

    def __init__(self, workdir: Path | None = None, external_url: str = "") -> None:
        self.external_url = external_url
        self._own_workdir = workdir is None and not external_url
        if workdir is None:
            temp = tempfile.gettempdir() if external_url else tempfile.mkdtemp(prefix="fw-pg-")
            workdir = Path(temp)
        self.workdir = Path(workdir)
        self.port = 0
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

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"

    @property
    def running(self) -> bool:
        if self.external:
            return True
        done = self._run_pg(["pg_ctl", "-D", str(self.data_dir), "status"], check=False)
        return done.returncode == 0

    def start(self, timeout: float = 60) -> PostgresService:
        """initdb on first use, start the server, create the database, wait for it."""
        began = time.monotonic()
        if self.external:
            return self
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        try:
            if not self.running:
                self.port = self.port or free_port()
                self._pg_ctl_start(timeout)
            wait_until(lambda: port_open(self.port), timeout, "PostgreSQL", log=self.log_path)
            self._create_database()
        except BaseException:
            self._stop_now()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Fast shutdown (sessions are disconnected); data and port are kept."""
        if self.external:
            raise ServiceError("cannot stop the external database")
        if self.data_dir.exists() and self.running:
            self._run_pg(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60",
                          "stop"])

    def restart(self, timeout: float = 60) -> PostgresService:
        """Stop and start again on the same port and data directory."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop (immediate) and remove the working directory this object created."""
        if self.external:
            return
        self._stop_now()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_now(self) -> None:
        if self.data_dir.exists() and self.running:
            self._run_pg(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                         check=False)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def _initdb(self) -> None:
        if self._user is not None:
            os.chown(self.workdir, self._user.pw_uid, self._user.pw_gid)
        self._run_pg(["initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
        conf = "\n".join([
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.workdir}'",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",
            "max_connections = 200", "shared_buffers = 64MB", "log_timezone = 'UTC'",
            "timezone = 'UTC'",
        ])
        with open(self.data_dir / "postgresql.conf", "a") as handle:
            handle.write("\n# feedwatch tests\n" + conf + "\n")

    def _pg_ctl_start(self, timeout: float) -> None:
        try:
            self._run_pg(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w",
                          "-t", str(int(timeout)), "-o", f"-p {self.port}", "start"])
        except ServiceError as exc:
            raise ServiceError(f"{exc}\n--- postgres.log ---\n{self.log_tail()}") from exc

    def _create_database(self) -> None:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _run_pg(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as the service user (as root) or as ourselves."""
        cmd = [pg_bin(args[0]), *args[1:]]
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": [],
                      "env": {**os.environ, "HOME": str(self.workdir)}}
        if check:
            run_checked(cmd, " ".join(args[:1] + args[-1:]), timeout=120, cwd=self.workdir,
                        **kwargs)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.run(cmd, capture_output=True, text=True, check=False,  # type: ignore[call-overload,no-any-return]
                              cwd=self.workdir, timeout=120, **kwargs)

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
