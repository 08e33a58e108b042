"""``feedwatch alerts``: the rule evaluator and the delivery worker (Kafka mode).

It follows the answers table of the store the sink writes (by id, with a durable
cursor), opens and closes incidents and delivers their notifications with retries.
Pending deliveries are in the store, so stopping or killing it loses nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click
from pydantic import ValidationError

from pipeline.errors import ConfigError


def _settings(db: str | None, allow_private: bool | None) -> Any:
    from workers.config import load_settings

    try:
        return load_settings(store={"url": db}, hooks={"allow_private": allow_private})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(".".join(map(str, err["loc"])), err.get("input"), err["msg"]) from None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@click.command("alerts")
@click.option(
    "--db",
    default=None,
    envvar="FEEDWATCH_STORE_URL",
    show_envvar=True,
    help="Store URL (default sqlite:///feedwatch.db; postgresql://... works).",
)
@click.option(
    "--allow-private/--no-allow-private",
    default=None,
    envvar="FEEDWATCH_HOOKS_ALLOW_PRIVATE",
    show_envvar=True,
    help="Allow hooks on private, loopback and link-local addresses.",
)
@click.option(
    "--from",
    "start",
    type=click.Choice(["latest", "earliest"]),
    default="latest",
    show_default=True,
    help="On a first start, skip answers already stored (latest) or replay them.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Evaluate every stored answer, wait up to FEEDWATCH_HOOKS_WAIT_ON_EXIT_S "
    "for deliveries, report what remains, and exit.",
)
def command(db: str | None, allow_private: bool | None, start: str, once: bool) -> None:
    """Evaluate alert rules over stored answers and deliver hook notifications."""
    from connectors.store import Store
    from workers.alerts.engine import AlertService, run_forever

    settings = _settings(db, allow_private)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = Store.from_url(settings.store.url)
    service = AlertService.from_settings(store.engine, settings.hooks)
    service.outbox.init_cursor(start)
    if once:
        service.start()
        left = service.drain(settings.hooks.wait_on_exit_s)
        service.stop()
        click.echo(
            f"alerts: {left} deliveries still pending" if left else "alerts: nothing pending",
            err=True,
        )
        return
    click.echo(f"alerts: watching {store.engine.url.render_as_string()}", err=True)
    run_forever(service, _stop_on_signals())
