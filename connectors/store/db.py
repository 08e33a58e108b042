"""Engines from URLs and programmatic Alembic migrations.

SQLite is the default (``sqlite:///feedwatch.db``; the folder is created); PostgreSQL
URLs (``postgresql://`` or ``postgres://``) run on psycopg 3. The schema is owned by
the migrations in ``migrations/``: :func:`upgrade` brings a database to ``head`` and
is what the app runs on start and ``feedwatch db upgrade`` runs explicitly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool

from connectors.store.migrating import (
    foreign_keys_hold,
    note_rollups,
    sqlite_begin,
    sqlite_unenforced,
)
from pipeline.errors import ConfigError, StoreDataError, StoreError, StoreUnreachable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x66656564  # "feed": the advisory lock that serialises migrations
CONNECT_TIMEOUT_S = 10
"""How long opening one PostgreSQL connection may take (a host that drops packets would
otherwise hold a request, or a command, for the system's TCP timeout of minutes)."""
_NOT_TRANSIENT = ("authentication failed", "does not exist", "no pg_hba.conf entry",
                  "SSL", "invalid")
ALLOWED = "sqlite:///PATH, sqlite:// (in memory) or postgresql://USER:PASS@HOST:PORT/DB"


def parse_url(url: str, field: str = "store.url") -> URL:
    """A validated SQLAlchemy URL; PostgreSQL is pinned to the psycopg 3 driver."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(field, url, ALLOWED) from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigError(field, parsed.render_as_string(hide_password=True), ALLOWED)
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_wal(dbapi_conn: Any, _record: Any) -> None:
    """A file database runs in WAL mode, every commit still synced (``synchronous=FULL``:
    as durable as the rollback journal): a commit costs one sync of the log instead of
    the journal's several (0.33 ms against 1.26 ms here), and the API's readers never
    block the writer. The log lives beside the file (``-wal``, ``-shm``): a local disk,
    not a network share; the last connection to close folds it back into the file."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def require_existing(url: str, field: str = "--db") -> str:
    """``url`` when it names a store that exists; a SQLite file that does not is refused
    (a command that only reads would otherwise create an empty store and report nothing
    in it, hiding a mistyped path). Other databases are checked when they are opened."""
    parsed = parse_url(url, field)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        if not path.is_file():
            raise ConfigError(field, url, f"an existing store (no file {path}; `feedwatch run`, "
                              "`feedwatch api` or `feedwatch db upgrade` creates one)")
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite file folders are created; in-memory SQLite is shared)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        own = "connect_timeout" in parsed.query  # the URL's own wins
        timeout = {} if own else {"connect_timeout": CONNECT_TIMEOUT_S}
        return create_engine(parsed, pool_pre_ping=True, connect_args=timeout)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    if not in_memory:
        event.listen(engine, "connect", _sqlite_wal)
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, secret_box: Any = None) -> str | None:
    """Migrate the database to ``revision``; returns the revision it is at afterwards.

    ``secret_box`` (a :class:`~connectors.store.secret_box.SecretBox`) seals the secrets
    a migration finds in clear; without it the migration reads the key from the
    environment (``FEEDWATCH_SECRETS_KEY`` / ``_FILE``)."""
    cfg = alembic_config()
    try:
        with reach(engine) as conn, sqlite_unenforced(conn), conn.begin():
            _one_at_a_time(conn)
            sqlite_begin(conn)
            before = _known(conn, cfg, engine)
            cfg.attributes["connection"] = conn
            cfg.attributes["secret_box"] = secret_box
            command.upgrade(cfg, revision)
            foreign_keys_hold(conn, before)
            note_rollups(conn, before)
    except CommandError as exc:  # alembic's own refusal, e.g. an unknown target revision
        raise StoreError(f"migration failed on {engine.url.render_as_string()}: "
                         f"{str(exc).splitlines()[0]}") from exc
    except SQLAlchemyError as exc:
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]  # the driver's own words
        raise StoreError(f"migration failed on {engine.url.render_as_string()}: "
                         f"{type(exc).__name__}: {why}{_read_only(engine)}") from exc
    return current_revision(engine)


def reach(engine: Engine) -> Connection:
    """A connection to the store, or :class:`StoreUnreachable` in one line naming the
    URL (never its password) and what to check. A refused login or a missing database
    is a plain :class:`StoreError`: waiting does not mend it."""
    try:
        return engine.connect()
    except (OperationalError, InterfaceError) as exc:
        why = _reason(exc)
        where = engine.url.render_as_string(hide_password=True)
        if any(word in why for word in _NOT_TRANSIENT):
            raise StoreError(f"the store at {where} refused the connection: {why}; check the "
                             "user, password and database in --db / FEEDWATCH_STORE_URL") from None
        raise StoreUnreachable(f"cannot reach the store at {where}: {why}; is the database "
                               "running and is --db / FEEDWATCH_STORE_URL right?") from None


def _one_at_a_time(conn: Any) -> None:
    """On PostgreSQL, processes that start together on one fresh store (an API and a
    worker) migrate one after the other: the second waits for the first's transaction
    and then finds the store at head, instead of failing to create a table that the
    first has just created. The lock ends with the transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _read_only(engine: Engine) -> str:
    """Why a SQLite store may not open: its file or folder cannot be written here (the
    store keeps a write-ahead log beside the file, and migrates on start)."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return ""
    path = Path(name)
    if path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return (f" ({path} or its folder is read-only here: feedwatch writes the store "
                "and its log beside it; copy it somewhere writable to read it)")
    return ""


def _known(conn: Any, cfg: Config, engine: Engine) -> str | None:
    """The store's revision. A store a newer feedwatch migrated is refused in one line
    (alembic would print a traceback about a revision it cannot locate)."""
    at = MigrationContext.configure(conn).get_current_revision()
    script = ScriptDirectory.from_config(cfg)
    if at is not None and at not in {s.revision for s in script.walk_revisions()}:
        raise StoreError(
            f"the store at {engine.url.render_as_string()} is at revision {at}, which this "
            f"feedwatch does not know (its newest is {script.get_current_head()}): a newer "
            "feedwatch migrated it; run that version, or a backup of the store from before")
    return at


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with reach(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def store_errors(what: str, *, detail: bool = True) -> Iterator[None]:
    """Any SQLAlchemy error inside becomes a :class:`StoreError` "``what``: its class:
    the driver's one-line reason" (``detail=False``: without the reason, for messages
    shown to API clients), a :class:`StoreDataError` when the store refused a value.
    Never the SQL statement or its parameters: those are logged at DEBUG only."""
    try:
        yield
    except SQLAlchemyError as exc:
        log.debug("%s", what, exc_info=True)
        kind = StoreDataError if isinstance(exc, IntegrityError | DataError) else StoreError
        text = f"{what}: {exc.__class__.__name__}" + (f": {_reason(exc)}" if detail else "")
        raise kind(text) from None
    except OverflowError as exc:  # sqlite3: an int over 64 bits is refused before SQL
        raise StoreDataError(f"{what}: {exc}") from None


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message, first line: no statement, no parameters (DETAIL lines of
    PostgreSQL, which quote values, are on the lines after)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    return text.splitlines()[0][:200] if text else ""
