"""``feedwatch alerts``: the rule evaluator and the delivery worker (Kafka mode).

It follows the answers table of the store the sink writes (by id, with a durable
cursor), opens and closes incidents and delivers their notifications with retries.
Pending deliveries are in the store, so stopping or killing it loses nothing.
"""

from __future__ import annotations

import signal
import threading

import click

from pipeline.errors import FeedwatchError
from workers.cli.options import db_option, setting_option
from workers.config import secret_box, settings_from_flags


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _exit_if_rules_failed(failed: dict[str, str]) -> None:
    """Rules that failed were skipped: say which, and exit 1."""
    for rule_id, error in sorted(failed.items()):
        click.echo(f"alerts: rule {rule_id} failed and was skipped: {error}", err=True)
    if failed:
        raise FeedwatchError(f"{len(failed)} alert rule(s) failed; the others ran")


@click.command("alerts")
@db_option
@setting_option(
    "hooks",
    "--allow-private/--no-allow-private",
    default=None,
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
    """Evaluate alert rules over stored answers and deliver hook notifications (with
    --once: exit 1 when a rule failed and was skipped)."""
    settings = settings_from_flags(store={"url": db}, hooks={"allow_private": allow_private})
    from connectors.store import open_store
    from workers.alerts.engine import AlertService, incident_links, run_forever
    from workers.ops import logs

    logs.setup(settings.log_level)
    store = open_store(settings.store.url, wait=not once)  # a service waits for its database
    service = AlertService.from_settings(
        store.engine, settings.hooks, decorate=incident_links(settings, store.engine),
        secrets=secret_box(settings))
    service.outbox.init_cursor(start)
    if once:
        service.start()
        left = service.drain(settings.hooks.wait_on_exit_s)
        service.stop()
        click.echo(
            f"alerts: {left} deliveries still pending" if left else "alerts: nothing pending",
            err=True,
        )
        _exit_if_rules_failed(service.evaluator.failed)
        return
    click.echo(f"alerts: watching {store.engine.url.render_as_string()}", err=True)
    run_forever(service, _stop_on_signals())
