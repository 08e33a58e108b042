"""`feedwatch api`: the HTTP API and dashboard over the store (and Kafka, if given)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import click

from pipeline.errors import ConfigError
from workers.cli.options import db_option, setting_option
from workers.config import settings_from_flags
from workers.view import setup_logging

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
HOST_HELP = ("an IP address or a hostname to listen on, e.g. 127.0.0.1 "
             "(every interface: 0.0.0.0) [flag or env FEEDWATCH_API_HOST]")


def check_host(host: str) -> str:
    """An IP literal or an RFC 1123 hostname. Never empty: uvicorn would listen on every
    interface, which nobody asked for with a blank value."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = (host[:-1] if host.endswith(".") else host).split(".")
        if (len(host) > 253 or labels[-1].isdigit()  # all digits: a mistyped IPv4 address
                or not all(_LABEL.fullmatch(label) for label in labels)):
            raise ConfigError("--host", host, HOST_HELP) from None
    return host


@click.command()
@db_option
@setting_option(
    "kafka",
    "--kafka",
    "bootstrap",
    field="bootstrap",
    default=None,
    help="Kafka bootstrap host:port; query changes are then published to the queries topic "
    "and live camera status is read from the status topic.",
)
@setting_option(
    "api",
    "--host",
    default=None,
    help="Address to listen on. [default: 127.0.0.1]",
)
@setting_option(
    "api",
    "--port",
    default=None,
    help="Port to listen on. [default: 8080]",
)
def command(db: str | None, bootstrap: str | None, host: str | None, port: str | None) -> None:
    """Serve the API (OpenAPI docs at /docs) and the dashboard page at /."""
    settings = settings_from_flags(
        store={"url": db}, kafka={"bootstrap": bootstrap}, api={"host": host, "port": port}
    )
    check_host(settings.api.host)  # the flag's or the environment's, before anything opens
    import uvicorn  # noqa: PLC0415 - keep `feedwatch --help` fast

    from connectors.store import open_store  # noqa: PLC0415
    from pipeline.errors import BusError  # noqa: PLC0415
    from workers.api.app import create_app  # noqa: PLC0415

    setup_logging(settings.log_level)
    store = open_store(settings.store.url, wait=True)  # a service waits for its database
    bus = None
    if settings.kafka.bootstrap:
        from connectors.kafka import KafkaBus, ensure_topics  # noqa: PLC0415

        try:
            ensure_topics(settings.kafka)
        except BusError as exc:  # serve anyway: /ready reports Kafka until it is back
            click.echo(f"warning: Kafka topics not ensured: {exc}", err=True)
        bus = KafkaBus(settings.kafka)
    app = create_app(settings, store, bus)
    where = store.engine.url.render_as_string(hide_password=True)
    click.echo(f"feedwatch api on http://{settings.api.host}:{settings.api.port}/ (store {where})")
    config = uvicorn.Config(app, host=settings.api.host, port=settings.api.port,
                            log_level=settings.log_level.lower(), timeout_graceful_shutdown=5)
    try:
        _stream_ending_server(app.state.fw.close_streams)(config).run()
    finally:
        store.close()


def _stream_ending_server(close_streams: Callable[[], None]) -> type:
    import uvicorn  # noqa: PLC0415

    class Server(uvicorn.Server):
        """Ends the live answer streams when told to stop: uvicorn waits for every open
        connection, so one open dashboard kept a stopped ``feedwatch api`` running."""

        def handle_exit(self, sig: int, frame: object) -> None:
            close_streams()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    return Server
