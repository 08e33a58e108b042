"""``feedwatch worker --kafka BOOTSTRAP --db URL``: a scale-out perception worker.

Joins the worker group on the segments topic (Faust), answers the standing queries
of the cameras it is assigned, and (``--role all``, the default) stores the answers
topic into SQL. Start several: cameras are spread over them and move to the
survivors when one dies. ``--metrics-port`` serves the Prometheus metrics
(segments, frames encoded, answers, rows stored, dead letters; decode, encode and
answer latency).
"""

from __future__ import annotations

import click

from workers.cli.options import db_option, env_option, kafka_option, setting_option
from workers.config import settings_from_flags
from workers.ops.priority import yield_cpu


@click.command()
@kafka_option
@db_option
@env_option(
    "--role",
    env="FEEDWATCH_WORKER_ROLE",
    type=click.Choice(["all", "perceive", "sink"]),
    default="all",
    show_default=True,
    help="Agents to run.",
)
@setting_option(
    "kafka",
    "--group",
    "group_id",
    field="group_id",
    default=None,
    help="Consumer group of the workers.",
)
@setting_option(
    "kafka",
    "--datadir",
    default=None,
    help="Faust data directory, default a temp dir.",
)
@setting_option(
    "",
    "--metrics-port",
    default=None,
    help="Serve Prometheus metrics at :PORT/metrics, 0 off (on 127.0.0.1 unless "
    "FEEDWATCH_METRICS_HOST names another address).",
)
@setting_option(
    "",
    "--log-level",
    default=None,
    help="Log level [default: INFO].",
)
def command(
    bootstrap: str | None,
    db: str | None,
    role: str,
    group_id: str | None,
    datadir: str | None,
    metrics_port: str | None,
    log_level: str | None,
) -> None:
    """Run a perception worker of the Kafka scale-out (stop with Ctrl-C / SIGTERM)."""
    settings = settings_from_flags(
        kafka={"bootstrap": bootstrap, "group_id": group_id, "datadir": datadir},
        store={"url": db},
        root={"metrics_port": metrics_port, "log_level": log_level},
    )
    from workers.ops import logs, metrics
    from workers.perception.scaleout import build_worker

    logs.setup(settings.log_level)
    yield_cpu(settings.perception.nice)
    worker = build_worker(settings, settings.store.url, role)
    metrics.serve(settings.metrics_port, settings.metrics_host)
    worker.run(loglevel=settings.log_level.lower())
