"""Every secret the store holds, found and resealed in one place.

Three kinds of stored value are secrets: ``hooks.secret`` (the HMAC key of a hook,
:data:`HOOK_SECRET`), the ``alert_state`` rows of kind ``secret`` (``data.key``: the
link-signing key generated when ``FEEDWATCH_LINK_KEY`` is unset, :data:`LINK_KEY`), and
``hooks.url`` of the hook types whose URL is itself the credential (a Slack incoming
webhook, :data:`HOOK_URL`). Migration 0008 sealed the first two, 0010 the URLs;
``feedwatch secrets rotate`` reseals all of them under the newest key, and each
downgrade opens its own again. Plain Core tables, not the ORM models, so the
migrations keep working whatever the models become; a migration names the kinds it
handles, so adding a kind later never changes what an old migration does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.store.secret_box import KEY_ENV, KEY_FILE_ENV, SecretBox, is_sealed
from pipeline.errors import ConfigError

HOOKS = sa.table(
    "hooks", sa.column("id", sa.String), sa.column("type", sa.String),
    sa.column("url", sa.Text), sa.column("secret", sa.Text),
)
STATE = sa.table(
    "alert_state", sa.column("kind", sa.String), sa.column("key", sa.String),
    sa.column("data", sa.JSON),
)
SECRET_KIND = "secret"  # noqa: S105 - the alert_state kind, not a secret
HOOK_SECRET, LINK_KEY, HOOK_URL = "hook", "state", "hook-url"  # kinds, as in ``where``
ALL_KINDS = (HOOK_SECRET, LINK_KEY, HOOK_URL)
URL_IS_SECRET = ("slack",)
"""Hook types whose URL authenticates the sender by itself: stored sealed."""


@dataclass(frozen=True)
class StoredSecret:
    """One stored secret: where it is (``hook:ID`` or ``state:KEY``) and its value."""

    where: str  # ``hook:ID``, ``hook-url:ID`` or ``state:KEY``
    value: str


@dataclass(frozen=True)
class Resealed:
    sealed: int  # were plaintext
    resealed: int  # were sealed already (under this key or an older one)


def stored_secrets(conn: Connection, kinds: Sequence[str] = ALL_KINDS) -> list[StoredSecret]:
    found: list[StoredSecret] = []
    if HOOK_SECRET in kinds:
        hooks = conn.execute(sa.select(HOOKS.c.id, HOOKS.c.secret)
                             .where(HOOKS.c.secret.is_not(None)))
        found += [StoredSecret(f"{HOOK_SECRET}:{i}", s) for i, s in hooks if s]
    if HOOK_URL in kinds:
        urls = conn.execute(sa.select(HOOKS.c.id, HOOKS.c.url)
                            .where(HOOKS.c.type.in_(URL_IS_SECRET)))
        found += [StoredSecret(f"{HOOK_URL}:{i}", u) for i, u in urls if u]
    if LINK_KEY in kinds:
        state = conn.execute(sa.select(STATE.c.key, STATE.c.data)
                             .where(STATE.c.kind == SECRET_KIND))
        found += [StoredSecret(f"{LINK_KEY}:{k}", str(d["key"])) for k, d in state
                  if isinstance(d, dict) and d.get("key")]
    return found


def plaintext(conn: Connection, kinds: Sequence[str] = ALL_KINDS) -> list[str]:
    """Where plaintext secrets are stored (``hook:ID``, ``hook-url:ID``, ``state:link_key``)."""
    return [s.where for s in stored_secrets(conn, kinds) if not is_sealed(s.value)]


def reseal_all(conn: Connection, box: SecretBox, kinds: Sequence[str] = ALL_KINDS) -> Resealed:
    """Every stored secret sealed under ``box``'s first key, in the caller's transaction."""
    found = stored_secrets(conn, kinds)
    for secret in found:
        _write(conn, secret.where, box.reseal(secret.value, secret.where))
    plain = sum(not is_sealed(s.value) for s in found)
    return Resealed(sealed=plain, resealed=len(found) - plain)


def open_all(conn: Connection, box: SecretBox | None, kinds: Sequence[str] = ALL_KINDS) -> int:
    """Every sealed secret written back in clear (the downgrade); refused without a key."""
    sealed = [s for s in stored_secrets(conn, kinds) if is_sealed(s.value)]
    if sealed and box is None:
        raise ConfigError("secrets_key", "(unset)", f"the key to open {len(sealed)} sealed "
                          f"secrets before downgrading ({KEY_ENV} or {KEY_FILE_ENV})")
    opener: Callable[[str, str], str] = box.open if box is not None else (lambda v, _w: v)
    for secret in sealed:
        _write(conn, secret.where, opener(secret.value, secret.where))
    return len(sealed)


def require_key(
    conn: Connection, box: SecretBox | None, kinds: Sequence[str] = ALL_KINDS
) -> None:
    """Refuse (naming the setting and what is in clear) to go on without a key while
    plaintext secrets are stored: migrating would leave them readable."""
    plain = plaintext(conn, kinds)
    if plain and box is None:
        shown = ", ".join(plain[:5]) + (f" and {len(plain) - 5} more" if len(plain) > 5 else "")
        raise ConfigError(
            "secrets_key", "(unset)",
            f"a key to encrypt the {len(plain)} secrets stored in plain text ({shown}): set "
            f"{KEY_ENV} or {KEY_FILE_ENV} (`feedwatch secrets new-key` prints one) for the "
            "process that upgrades the store, then upgrade again (nothing was changed)")


def _write(conn: Connection, where: str, value: str) -> None:
    kind, ident = where.split(":", 1)
    if kind == HOOK_SECRET:
        conn.execute(sa.update(HOOKS).where(HOOKS.c.id == ident).values(secret=value))
        return
    if kind == HOOK_URL:
        conn.execute(sa.update(HOOKS).where(HOOKS.c.id == ident).values(url=value))
        return
    stmt = sa.update(STATE).where(STATE.c.kind == SECRET_KIND, STATE.c.key == ident)
    conn.execute(stmt.values(data={"key": value}))


def migration_box(attributes: dict[str, object]) -> SecretBox | None:
    """The box a migration seals with: the one handed to ``upgrade``, else the env's."""
    given = attributes.get("secret_box")
    return given if isinstance(given, SecretBox) else SecretBox.from_env()


def seal_for_upgrade(conn: Connection, box: SecretBox | None, kinds: Sequence[str]) -> None:
    """A revision's sealing step: refuse (nothing changed) when plaintext rows of
    ``kinds`` are stored and there is no key, else seal them."""
    require_key(conn, box, kinds)
    if box is not None:
        reseal_all(conn, box, kinds)
