"""``feedwatch soak --cameras N --minutes M --kafka BOOTSTRAP --db URL``: faults + figures.

Runs the real stack as subprocesses under a fault schedule and prints the report
(exit code 1 when an answer or an alert was lost or doubled). Broker and database
faults need a way to stop and start them: give ``--broker-stop``/``--broker-start``
and ``--db-stop``/``--db-start`` shell commands (e.g. ``systemctl stop kafka``);
without them those two faults are skipped and the report says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline.errors import ConfigError
from workers.cli.options import db_option, kafka_option
from workers.config import settings_from_flags


def _control(stop: str | None, start: str | None, name: str) -> object | None:
    from workers.soak.faults import ShellControl

    if bool(stop) != bool(start):
        raise ConfigError(f"--{name}-stop/--{name}-start", (stop, start), "give both or neither")
    return ShellControl(stop, start) if stop and start else None


@click.command("soak")
@click.option("--cameras", type=int, default=2, show_default=True, help="Synthetic cameras.")
@click.option("--minutes", type=float, default=2.0, show_default=True, help="Run length.")
@kafka_option
@db_option
@click.option(
    "--faults",
    default="all",
    show_default=True,
    help="all, none, or a comma list of: fuzz, kill-worker, camera, hook, broker, postgres, burst.",
)
@click.option("--broker-stop", default=None, help="Shell command that stops the broker.")
@click.option("--broker-start", default=None, help="Shell command that starts it again.")
@click.option("--db-stop", default=None, help="Shell command that stops the database.")
@click.option("--db-start", default=None, help="Shell command that starts it again.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep clips and process logs here (default: a temp dir).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def command(
    cameras: int,
    minutes: float,
    bootstrap: str | None,
    db: str | None,
    faults: str,
    broker_stop: str | None,
    broker_start: str | None,
    db_stop: str | None,
    db_start: str | None,
    workdir: Path | None,
    as_json: bool,
) -> None:
    """Run the stack under faults; report lost/doubled answers, alerts, lag, memory."""
    from workers.history.writer import retention_policy
    from workers.soak.core import SoakConfig, run_soak
    from workers.soak.faults import parse_faults

    # the stack's processes inherit FEEDWATCH_RETENTION_*; the report audits the same policy
    policy = retention_policy(settings_from_flags().retention)
    if cameras < 1 or minutes <= 0:
        raise ConfigError("--cameras/--minutes", (cameras, minutes), ">= 1 camera, > 0 minutes")
    if not bootstrap or not db:
        raise ConfigError("--kafka/--db", (bootstrap, db), "both, for the stack under test")
    cfg = SoakConfig(
        bootstrap=bootstrap,
        db_url=db,
        cameras=cameras,
        minutes=minutes,
        faults=parse_faults(faults),
        broker=_control(broker_stop, broker_start, "broker"),  # type: ignore[arg-type]
        postgres=_control(db_stop, db_start, "db"),  # type: ignore[arg-type]
        workdir=workdir,
        retention=policy if policy.enabled else None,
        say=lambda line: click.echo(line, err=True),
    )
    report = run_soak(cfg)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)
