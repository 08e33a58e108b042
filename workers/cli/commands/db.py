"""``feedwatch db``: schema migrations of the SQL store (Alembic, run programmatically),
how big the store is (``stats``) and retention (``prune``)."""

from __future__ import annotations

import re

import click

from workers.cli.options import db_option, setting_option
from workers.config import settings_from_flags

RETENTION_HELP = "a duration above 0 such as 90s, 30m, 12h or 7d"
REVISION_HELP = "head, or a revision id as `feedwatch db current` prints it"


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from connectors.store import make_engine

    return make_engine(settings_from_flags(store={"url": db}).store.url)


def _retention(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A retention flag as the settings read it, refused here with its own name (an empty
    one too: it would silently keep the setting's default)."""
    import math

    from pipeline.errors import ConfigError
    from pipeline.history.duration import parse_duration

    if value is None:
        return None
    try:
        parse_duration(value, param.name or "retention", most=math.inf)
    except ConfigError:
        raise click.BadParameter(f"{value!r}: {RETENTION_HELP}", ctx, param) from None
    return value


def _known_revision(text: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from connectors.store.db import alembic_config

    try:
        ScriptDirectory.from_config(alembic_config()).get_revisions(text)
    except CommandError:
        return False
    return True


def _revision(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A target Alembic knows: ``head``, ``base``, an id (or its start), or a step
    (``+1``), refused before the store is opened."""
    text = value.strip()
    if not (re.fullmatch(r"[+-]\d+", text) or (text and _known_revision(text))):
        raise click.BadParameter(f"{value!r}: {REVISION_HELP}", ctx, param)
    return text


@click.group("db")
def command() -> None:
    """Manage the store's schema (the app also upgrades it on start)."""


@command.command("upgrade")
@db_option
@click.option("--revision", default="head", show_default=True, callback=_revision,
              help="Target revision.")
def upgrade_cmd(db: str | None, revision: str) -> None:
    """Migrate the database to the newest schema (or --revision)."""
    from alembic.util import CommandError

    from connectors.store import upgrade

    engine = _engine(db)
    try:
        at = upgrade(engine, revision)
    except CommandError as exc:  # e.g. a step past head, or a store newer than this version
        raise click.ClickException(f"--revision {revision}: {exc}") from None
    finally:
        engine.dispose()
    click.echo(f"{engine.url.render_as_string()}: at revision {at}", err=True)


@command.command("current")
@db_option
def current_cmd(db: str | None) -> None:
    """Print the database's revision and the newest one this version ships."""
    from connectors.store import current_revision, head_revision
    from connectors.store.db import store_errors

    engine = _engine(db)
    try:
        with store_errors(f"reading {engine.url.render_as_string()}"):
            at = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"current {at} head {head_revision()}")


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@command.command("stats")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object (tables, cameras).")
def stats_cmd(db: str | None, as_json: bool) -> None:
    """Rows and bytes per table, and per camera for frames, answers and evidence."""
    import json

    from rich.console import Console
    from rich.table import Table

    from connectors.store import make_engine, upgrade
    from connectors.store.stats import camera_stats, table_stats

    engine = make_engine(settings_from_flags(store={"url": db}).store.url)
    try:
        upgrade(engine)
        tables, cameras = table_stats(engine), camera_stats(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({
            "tables": [vars(t) for t in tables],
            "cameras": [{**vars(c), "bytes_per_hour": c.bytes_per_hour} for c in cameras],
        }, separators=(",", ":")))
        return
    out = Table(title="tables")
    for name in ("table", "rows", "bytes"):
        out.add_column(name)
    for t in tables:
        out.add_row(t.table, str(t.rows), _mb(t.bytes))
    per = Table(title="per camera (stored row bytes; per hour of the camera's stream)")
    for name in ("table", "camera", "rows", "bytes", "stream span", "bytes / camera-hour"):
        per.add_column(name)
    for c in cameras:
        rate = "" if c.bytes_per_hour is None else _mb(c.bytes_per_hour)
        per.add_row(c.table, c.camera, str(c.rows), _mb(c.bytes), f"{c.span_s:.0f} s", rate)
    console = Console()
    console.print(out)
    console.print(per)


@command.command("prune")
@db_option
@setting_option("retention", "--frames", default=None, callback=_retention,
                help="Keep frames this long (e.g. 10m, 12h, 7d) on each camera's stream clock.")
@setting_option("retention", "--answers", default=None, callback=_retention,
                help="Keep answers (and their evidence) this long.")
@setting_option("retention", "--evidence", default=None, callback=_retention,
                help="Keep evidence images this long.")
@setting_option("retention", "--rollups", default=None, callback=_retention,
                help="Keep answer runs and minute rollups this long [default: 400d].")
@setting_option("retention", "--incidents", default=None, callback=_retention,
                help="Keep closed incidents (their clips and deliveries) this long.")
def prune_cmd(
    db: str | None, frames: str | None, answers: str | None, evidence: str | None,
    rollups: str | None, incidents: str | None,
) -> None:
    """Delete rows older than the retention settings, in small batches."""
    from pathlib import Path

    from connectors.store import make_engine, upgrade
    from connectors.store.clips import ClipFiles
    from connectors.store.retention import Pruner
    from workers.history.writer import retention_policy

    settings = settings_from_flags(
        store={"url": db},
        retention={"frames": frames, "answers": answers, "evidence": evidence,
                   "rollups": rollups, "incidents": incidents},
    )
    policy = retention_policy(settings.retention)
    if not policy.enabled:
        raise click.UsageError("nothing to prune: give --frames, --answers, --evidence, "
                               "--incidents or --rollups (or FEEDWATCH_RETENTION_*)")
    engine = make_engine(settings.store.url)
    try:
        upgrade(engine)
        files = ClipFiles(Path(settings.clips.dir))
        result = Pruner(engine, policy, clip_files=files).prune()
    finally:
        engine.dispose()
    deleted = ", ".join(f"{n} {table}" for table, n in result.deleted.items())
    click.echo(f"deleted {deleted}; {result.clip_files} clip files", err=True)
    if result.clip_files_missing:
        click.echo(f"warning: {result.clip_files_missing} clip files of pruned incidents were "
                   f"not found in {settings.clips.dir!r}: they stay on disk (set "
                   "FEEDWATCH_CLIPS_DIR to the clips folder the run or clips service wrote)",
                   err=True)


@command.command("rebuild-rollups")
@db_option
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Answers applied per transaction.")
def rebuild_rollups_cmd(db: str | None, batch: int) -> None:
    """Refill the answer runs and minute rollups from the stored answers, in batches.

    Run it once after upgrading a store that already holds answers (new answers keep
    the rollups themselves), while no worker is storing answers."""
    from rich.console import Console
    from rich.progress import Progress

    from connectors.store import upgrade
    from connectors.store.rollups.rebuild import rebuild_rollups

    engine = _engine(db)
    try:
        upgrade(engine)
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("answers", total=None)
            result = rebuild_rollups(
                engine, batch, lambda _key, n: progress.advance(task, n)
            )
    finally:
        engine.dispose()
    click.echo(
        f"rebuilt rollups of {result.series} question/camera pairs from {result.answers} "
        f"answers in {result.batches} batches", err=True,
    )
