"""Every secret the store holds, found and resealed in one place.

Two kinds of row hold secrets: ``hooks.secret`` (the HMAC key of a hook) and the
``alert_state`` rows of kind ``secret`` (``data.key``: the link-signing key generated
when ``FEEDWATCH_LINK_KEY`` is unset). Migration 0008 seals the plaintext ones,
``feedwatch secrets rotate`` reseals all of them under the newest key, and the
downgrade opens them again. Plain Core tables, not the ORM models, so the migration
keeps working whatever the models become.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.store.secret_box import KEY_ENV, KEY_FILE_ENV, SecretBox, is_sealed
from pipeline.errors import ConfigError

HOOKS = sa.table("hooks", sa.column("id", sa.String), sa.column("secret", sa.Text))
STATE = sa.table(
    "alert_state", sa.column("kind", sa.String), sa.column("key", sa.String),
    sa.column("data", sa.JSON),
)
SECRET_KIND = "secret"  # noqa: S105 - the alert_state kind, not a secret


@dataclass(frozen=True)
class StoredSecret:
    """One stored secret: where it is (``hook:ID`` or ``state:KEY``) and its value."""

    where: str
    value: str


@dataclass(frozen=True)
class Resealed:
    sealed: int  # were plaintext
    resealed: int  # were sealed already (under this key or an older one)


def stored_secrets(conn: Connection) -> list[StoredSecret]:
    hooks = conn.execute(sa.select(HOOKS.c.id, HOOKS.c.secret).where(HOOKS.c.secret.is_not(None)))
    found = [StoredSecret(f"hook:{i}", s) for i, s in hooks if s]
    state = conn.execute(sa.select(STATE.c.key, STATE.c.data).where(STATE.c.kind == SECRET_KIND))
    return found + [StoredSecret(f"state:{k}", str(d["key"])) for k, d in state
                    if isinstance(d, dict) and d.get("key")]


def plaintext(conn: Connection) -> list[str]:
    """Where plaintext secrets are stored (``hook:ID``, ``state:link_key``)."""
    return [s.where for s in stored_secrets(conn) if not is_sealed(s.value)]


def reseal_all(conn: Connection, box: SecretBox) -> Resealed:
    """Every stored secret sealed under ``box``'s first key, in the caller's transaction."""
    found = stored_secrets(conn)
    for secret in found:
        _write(conn, secret.where, box.reseal(secret.value, secret.where))
    plain = sum(not is_sealed(s.value) for s in found)
    return Resealed(sealed=plain, resealed=len(found) - plain)


def open_all(conn: Connection, box: SecretBox | None) -> int:
    """Every sealed secret written back in clear (the downgrade); refused without a key."""
    sealed = [s for s in stored_secrets(conn) if is_sealed(s.value)]
    if sealed and box is None:
        raise ConfigError("secrets_key", "(unset)", f"the key to open {len(sealed)} sealed "
                          f"secrets before downgrading ({KEY_ENV} or {KEY_FILE_ENV})")
    opener: Callable[[str, str], str] = box.open if box is not None else (lambda v, _w: v)
    for secret in sealed:
        _write(conn, secret.where, opener(secret.value, secret.where))
    return len(sealed)


def require_key(conn: Connection, box: SecretBox | None) -> None:
    """Refuse (naming the setting and what is in clear) to go on without a key while
    plaintext secrets are stored: migrating would leave them readable."""
    plain = plaintext(conn)
    if plain and box is None:
        shown = ", ".join(plain[:5]) + (f" and {len(plain) - 5} more" if len(plain) > 5 else "")
        raise ConfigError(
            "secrets_key", "(unset)",
            f"a key to encrypt the {len(plain)} secrets stored in plain text ({shown}): set "
            f"{KEY_ENV} or {KEY_FILE_ENV} (`feedwatch secrets new-key` prints one) for the "
            "process that upgrades the store, then upgrade again (nothing was changed)")


def _write(conn: Connection, where: str, value: str) -> None:
    kind, ident = where.split(":", 1)
    if kind == "hook":
        conn.execute(sa.update(HOOKS).where(HOOKS.c.id == ident).values(secret=value))
        return
    stmt = sa.update(STATE).where(STATE.c.kind == SECRET_KIND, STATE.c.key == ident)
    conn.execute(stmt.values(data={"key": value}))
