"""``feedwatch backfills list|show|cancel``: the backfill jobs in the store.

A backfill answers a query over stored history: the API runs one in the background
when a query is created with ``backfill``, ``feedwatch queries add --backfill`` runs
one in its own process. Both are rows in the store, so these commands see every job,
whichever process runs it; ``cancel`` stops a running job after its current window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from workers.cli.options import db_option
from workers.config import settings_from_flags

json_option = click.option(
    "--json", "as_json", is_flag=True, envvar="FEEDWATCH_JSON", show_envvar=True,
    help="One JSON object per job per line on stdout.",
)


@contextmanager
def _jobs(db: str | None) -> Iterator[Any]:
    from connectors.store import open_store, require_existing
    from connectors.store.backfills.jobs import BackfillJobs

    store = open_store(require_existing(settings_from_flags(store={"url": db}).store.url))
    try:
        yield BackfillJobs(store.engine)
    finally:
        store.close()


def echo_job(job: Any, as_json: bool) -> None:
    """One job: its wire JSON, or a line a person reads."""
    from connectors.store.backfills.wire import BackfillOut

    if as_json:
        click.echo(BackfillOut.of(job).model_dump_json())
        return
    total = f"/{job.windows_total}" if job.windows_total else ""
    error = f"  {job.error}" if job.error else ""
    click.echo(f"{job.id}  {job.state:<9}  {job.windows_done}{total} windows  "
               f"{job.answers} new answers  query {job.query_id} v{job.version}  "
               f"{job.seconds:g}s of {','.join(job.cameras)}{error}")


@click.group()
def command() -> None:
    """List, show and cancel backfill jobs (queries answered over stored history)."""


@command.command("list")
@click.option("--query", "query_id", default=None, help="Only this query's backfills.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="At most this many, newest first.")
@json_option
@db_option
def list_(query_id: str | None, limit: int, as_json: bool, db: str | None) -> None:
    """Backfill jobs, newest first."""
    with _jobs(db) as jobs:
        for job in jobs.list(query_id, limit):
            echo_job(job, as_json)


@command.command("show")
@click.argument("job_id")
@json_option
@db_option
def show(job_id: str, as_json: bool, db: str | None) -> None:
    """One job's state and progress."""
    with _jobs(db) as jobs:
        job = jobs.get(job_id)
    if job is None:
        raise click.BadParameter(f"no backfill {job_id!r} in the store", param_hint="JOB_ID")
    echo_job(job, as_json)


@command.command("cancel")
@click.argument("job_id")
@json_option
@db_option
def cancel(job_id: str, as_json: bool, db: str | None) -> None:
    """Cancel a queued or running job (exit status 1 when it had already finished)."""
    with _jobs(db) as jobs:
        if jobs.get(job_id) is None:
            raise click.BadParameter(f"no backfill {job_id!r} in the store", param_hint="JOB_ID")
        cancelled = jobs.cancel(job_id, "cancelled from the command line")
        job = jobs.get(job_id)
    echo_job(job, as_json)
    if not cancelled:
        raise click.ClickException(f"backfill {job_id} had already finished ({job.state})")
