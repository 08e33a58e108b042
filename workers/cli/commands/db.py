"""``feedwatch db``: schema migrations of the SQL store (Alembic, run programmatically)."""

from __future__ import annotations

import click

from workers.cli.options import db_option, settings_from_flags


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from connectors.store import make_engine

    return make_engine(settings_from_flags(store={"url": db}).store.url)


@click.group("db")
def command() -> None:
    """Manage the store's schema (the app also upgrades it on start)."""


@command.command("upgrade")
@db_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_cmd(db: str | None, revision: str) -> None:
    """Migrate the database to the newest schema (or --revision)."""
    from connectors.store import upgrade

    engine = _engine(db)
    try:
        at = upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"{engine.url.render_as_string()}: at revision {at}", err=True)


@command.command("current")
@db_option
def current_cmd(db: str | None) -> None:
    """Print the database's revision and the newest one this version ships."""
    from connectors.store import current_revision, head_revision

    engine = _engine(db)
    try:
        click.echo(f"current {current_revision(engine)} head {head_revision()}")
    finally:
        engine.dispose()


def _history_commands() -> None:
    from workers.history.db_commands import prune_cmd, stats_cmd

    command.add_command(stats_cmd)
    command.add_command(prune_cmd)


_history_commands()
