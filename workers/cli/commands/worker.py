"""``feedwatch worker --kafka BOOTSTRAP --db URL``: a scale-out perception worker.

Joins the worker group on the segments topic (Faust), answers the standing queries
of the cameras it is assigned, and (``--role all``, the default) stores the answers
topic into SQL. Start several: cameras are spread over them and move to the
survivors when one dies. ``--metrics-port`` serves the Prometheus metrics
(segments, frames encoded, answers, rows stored, dead letters; decode, encode and
answer latency).
"""

from __future__ import annotations

import logging

import click

from workers.config import load_settings


@click.command()
@click.option(
    "--kafka",
    "bootstrap",
    default=None,
    help="Kafka bootstrap host:port [env FEEDWATCH_KAFKA_BOOTSTRAP].",
)
@click.option(
    "--db",
    "db_url",
    default=None,
    help="SQL store URL, e.g. postgresql+psycopg://... [env FEEDWATCH_STORE_URL].",
)
@click.option(
    "--role",
    type=click.Choice(["all", "perceive", "sink"]),
    default="all",
    envvar="FEEDWATCH_WORKER_ROLE",
    show_default=True,
    help="Agents to run [env FEEDWATCH_WORKER_ROLE].",
)
@click.option(
    "--group",
    "group_id",
    default=None,
    help="Consumer group of the workers [env FEEDWATCH_KAFKA_GROUP_ID].",
)
@click.option(
    "--datadir",
    default=None,
    help="Faust data directory, default a temp dir [env FEEDWATCH_KAFKA_DATADIR].",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics at :PORT/metrics, 0 off [env FEEDWATCH_METRICS_PORT].",
)
@click.option(
    "--log-level",
    default="info",
    envvar="FEEDWATCH_LOG_LEVEL",
    show_default=True,
    help="Log level [env FEEDWATCH_LOG_LEVEL].",
)
def command(
    bootstrap: str | None,
    db_url: str | None,
    role: str,
    group_id: str | None,
    datadir: str | None,
    metrics_port: int | None,
    log_level: str,
) -> None:
    """Run a perception worker of the Kafka scale-out (stop with Ctrl-C / SIGTERM)."""
    from workers.ops import metrics
    from workers.perception.scaleout import build_worker

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings(
        kafka={"bootstrap": bootstrap, "group_id": group_id, "datadir": datadir},
        store={"url": db_url},
    )
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    worker = build_worker(settings, settings.store.url, role)
    metrics.serve(settings.metrics_port)
    worker.run(loglevel=log_level)
