"""``feedwatch report``: matched time per question and camera, from the rollups.

A table by default, ``--json`` (one object, the schema of
:class:`connectors.store.rollups.wire.Report`), ``--csv`` (one row per question and
camera) and a heat strip PNG with ``--png``. Without ``--since`` everything stored.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from connectors.store.rollups.span import BUCKETS, TIME_HELP
from pipeline.errors import ConfigError, FeedwatchError
from workers.cli.options import db_option, env_option
from workers.config import settings_from_flags

if TYPE_CHECKING:
    from connectors.store.rollups.reads import RollupReads
    from connectors.store.rollups.wire import Report

CAP = 20_000  # buckets per row of a report (a year of hours)


def _not_negative(value: str | None, flag: str) -> None:
    """Stream times start at 0: a negative epoch would silently mean 0."""
    try:
        negative = value is not None and float(value) < 0
    except ValueError:
        return  # an ISO time or a duration: the range's own parser judges it
    if negative:
        raise ConfigError(flag, value, f"a time at or after 0: {TIME_HELP}")


def _check_span(reads: RollupReads, since: str | None, until: str | None, tz: str) -> None:
    """``--until`` after ``--since`` (as ``search`` wants), once both are resolved."""
    from connectors.store.rollups.summary import resolve

    if since is None and until is None:
        return
    try:
        resolve(reads, since, until, tz, default_since=None, strict=True)
    except ConfigError as exc:  # the range's own rule, said of the flag
        if exc.field not in ("since", "until"):
            raise
        allowed = str(exc.allowed).replace("since (", "--since (")
        raise ConfigError(f"--{exc.field}", exc.value, allowed) from None


@click.command("report")
@db_option
@env_option("--since", default=None, env="FEEDWATCH_REPORT_SINCE",
            help=f"Start ({TIME_HELP}); default: everything stored.")
@env_option("--until", default=None, env="FEEDWATCH_REPORT_UNTIL",
            help="End (same forms); default: the newest stored window.")
@env_option("--bucket", default="1h", show_default=True, env="FEEDWATCH_REPORT_BUCKET",
            type=click.Choice(list(BUCKETS)), help="Bucket of the chart and the JSON.")
@env_option("--tz", default="UTC", show_default=True, env="FEEDWATCH_REPORT_TZ",
            help="IANA time zone the buckets follow.")
@click.option("--query", "queries", multiple=True, help="Only this query id (repeatable).")
@click.option("--camera", "cameras", multiple=True, help="Only this camera (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout, a row per question/camera.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the heat strip chart to this PNG.")
def command(
    db: str | None, since: str | None, until: str | None, bucket: str, tz: str,
    queries: tuple[str, ...], cameras: tuple[str, ...], as_json: bool, as_csv: bool,
    png: Path | None,
) -> None:
    """How long each question was answered yes, per camera, over a period."""
    from connectors.store import open_store, require_existing
    from connectors.store.rollups.reads import RollupReads
    from connectors.store.rollups.summary import report

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    _not_negative(since, "--since")
    _not_negative(until, "--until")
    store = open_store(require_existing(settings_from_flags(store={"url": db}).store.url))
    try:
        reads = RollupReads(store.engine)
        _check_span(reads, since, until, tz)
        out, _grid = report(reads, since=since, until=until, bucket=bucket,
                            tz=tz, queries=queries, cameras=cameras, cap=CAP)
    finally:
        store.close()
    if png is not None:
        from workers.ops.report_chart import heat_strip

        click.echo(f"chart: {heat_strip(out, png)}", err=True)
    if as_json:
        click.echo(out.model_dump_json())
    elif as_csv:
        _csv(out)
    else:
        _table(out)
    if out.next_since is not None:
        raise FeedwatchError(
            f"the range was cut at {CAP} {bucket} buckets: the report covers "
            f"{out.since:g}..{out.next_since:g} only (file cameras count from 0, live ones "
            "from 1970: ask for one kind with --camera, or give --since/--until or a longer "
            "--bucket)")


def _csv(out: Report) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["query_id", "question", "camera", "matched_s", "windows", "runs"])
    for s in out.series:
        writer.writerow([s.query_id, s.question, s.camera, s.matched_s, s.windows, s.runs])


def _table(out: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    from workers.ops.report_chart import clock

    table = Table(title=f"matched time ({out.bucket} buckets, {out.tz})")
    for name in ("question", "camera", "matched", "windows", "runs"):
        table.add_column(name)
    for s in out.series:
        table.add_row(s.question, s.camera, clock(s.matched_s), str(s.windows), str(s.runs))
    Console().print(table)
