"""``feedwatch secrets new-key|status|rotate``: the key that seals secrets at rest.

Hook secrets, Slack hook URLs and the link-signing key kept in the store are sealed
with the first key of ``FEEDWATCH_SECRETS_KEY`` (or ``FEEDWATCH_SECRETS_KEY_FILE``);
every key listed opens them. Rotating: put the new key first and the old one after it
in every process's environment, run ``rotate`` (every stored secret resealed under the
new key, one transaction), then drop the old key (docs/operations.md).
"""

from __future__ import annotations

import json

import click

from workers.cli.options import db_option
from workers.config import secret_box, settings_from_flags


@click.group("secrets")
def command() -> None:
    """Keys that seal hook secrets, Slack hook URLs and the stored link key (docs/operations.md)."""


@command.command("new-key")
def new_key_cmd() -> None:
    """Print a fresh random key (for FEEDWATCH_SECRETS_KEY or a key file)."""
    from connectors.store.secret_box import new_key

    click.echo(new_key())


def _box_and_engine(db: str | None):  # type: ignore[no-untyped-def]
    from connectors.store import make_engine, upgrade
    from connectors.store.secret_box import KEY_HELP
    from pipeline.errors import ConfigError

    settings = settings_from_flags(store={"url": db})
    box = secret_box(settings)
    if box is None:
        raise ConfigError("secrets_key", "(unset)", KEY_HELP)
    engine = make_engine(settings.store.url)
    upgrade(engine, secret_box=box)
    return box, engine


@command.command("status")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status_cmd(db: str | None, as_json: bool) -> None:
    """How many stored secrets each configured key opens (exit 2 when some open with none)."""
    from connectors.store.secret_rows import stored_secrets

    box, engine = _box_and_engine(db)
    try:
        with engine.connect() as conn:
            found = stored_secrets(conn)
    finally:
        engine.dispose()
    counts = box.census([s.value for s in found])
    if as_json:
        click.echo(json.dumps(counts, separators=(",", ":")))
    else:
        keys = ", ".join(f"key {i + 1}: {n}" for i, n in enumerate(counts["by_key"]))
        click.echo(f"{counts['stored']} stored secrets; {keys}; plaintext {counts['plaintext']}; "
                   f"unreadable {counts['unreadable']}")
    if counts["unreadable"]:
        from pipeline.errors import ConfigError

        raise ConfigError("secrets_key", "***", f"keys that open every stored secret: "
                          f"{counts['unreadable']} open with none of them (add the key they "
                          "were sealed with after the first)")


@command.command("rotate")
@db_option
def rotate_cmd(db: str | None) -> None:
    """Reseal every stored secret under the FIRST configured key (one transaction)."""
    from connectors.store.secret_rows import reseal_all

    box, engine = _box_and_engine(db)
    try:
        with engine.begin() as conn:
            done = reseal_all(conn, box)
    finally:
        engine.dispose()
    click.echo(f"resealed {done.resealed} sealed and {done.sealed} plaintext secrets under the "
               f"first of {box.key_count} keys; the others can be dropped now", err=True)
