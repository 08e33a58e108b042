"""``feedwatch deadletters``: what was dropped and why (the store's dead letters).

Every record a run or a worker could not process (a corrupt segment, a malformed
message, an answer the store refused) is a dead letter; the sink keeps each one in the
store (:mod:`connectors.store.dead_letters`). This lists them, newest first, as a
table (stdout) or JSON lines (``--json``), with a count by stage on stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from pipeline.errors import ConfigError
from workers.cli.options import db_option, parse_time
from workers.config import settings_from_flags

if TYPE_CHECKING:
    from connectors.store.dead_letters import DeadLetterEntry

LIMIT_MAX = 10_000
"""Dead letters one listing prints (the store's most for one read)."""


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _place(e: DeadLetterEntry) -> str:
    at = "" if e.partition < 0 else f"[{e.partition}]" + ("" if e.offset < 0 else f"@{e.offset}")
    return f"{e.topic}{at}"


def _table(entries: list[DeadLetterEntry]) -> Table:
    table = Table(title=f"{len(entries)} dead letters, newest first")
    for name in ("id", "written (UTC)", "stage", "camera", "from", "error", "bytes"):
        table.add_column(name, overflow="fold")
    for e in entries:
        table.add_row(str(e.id), _when(e.at), e.stage, e.camera, _place(e),
                      f"{e.error_type}: {e.message}",
                      "" if e.value_bytes is None else str(e.value_bytes))
    return table


@click.command("deadletters")
@db_option
@click.option("--since", default=None, envvar="FEEDWATCH_DEADLETTERS_SINCE", show_envvar=True,
              help="Only dead letters written at or after T (epoch s or ISO-8601 with zone).")
@click.option("--until", default=None, envvar="FEEDWATCH_DEADLETTERS_UNTIL", show_envvar=True,
              help="Only dead letters written before T.")
@click.option("--stage", default=None, envvar="FEEDWATCH_DEADLETTERS_STAGE", show_envvar=True,
              help="Only this stage (perceive, sink, queries, ...).")
@click.option("--camera", default=None, envvar="FEEDWATCH_DEADLETTERS_CAMERA", show_envvar=True,
              help="Only this camera id.")
@click.option("--limit", type=click.IntRange(1, LIMIT_MAX), default=100, show_default=True,
              envvar="FEEDWATCH_DEADLETTERS_LIMIT", show_envvar=True,
              help=f"At most this many (1 to {LIMIT_MAX:,}), newest first.")
@click.option("--json", "as_json", is_flag=True, envvar="FEEDWATCH_JSON", show_envvar=True,
              help="One JSON object per dead letter per line on stdout.")
def command(db: str | None, since: str | None, until: str | None, stage: str | None,
            camera: str | None, limit: int, as_json: bool) -> None:
    """List the dead letters the store keeps: what could not be processed, and why."""
    from connectors.store import Store, require_existing
    from connectors.store.dead_letters import DeadLetterLog

    t0 = None if since is None else parse_time(since, "--since")
    t1 = None if until is None else parse_time(until, "--until")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ConfigError("--until", until, f"a time after --since ({since})")
    url = require_existing(settings_from_flags(store={"url": db}).store.url)
    store = Store.from_url(url, upgrade=True)
    try:
        book = DeadLetterLog(store.engine)
        found = book.read(since=t0, until=t1, stage=stage, camera=camera, limit=limit)
        counts = book.counts(since=t0)
    finally:
        store.close()
    if as_json:
        for e in found:
            click.echo(json.dumps(e.as_json(), separators=(",", ":")))
    else:
        Console().print(_table(found))
    by_stage = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
    click.echo(f"dead letters by stage{'' if t0 is None else ' since ' + _when(t0)}: "
               f"{by_stage}", err=True)
