"""`feedwatch healthcheck`: the container health probe for every feedwatch process.

The API is healthy when its ``/health`` answers 200; a worker is healthy when its
heartbeat file (touched by its main loop, see :mod:`workers.ops.heartbeat`) is fresh.
"""

from __future__ import annotations

import stat
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from workers.cli.options import SECONDS, setting_option

URL_HELP = "an http(s) URL with a host, e.g. http://127.0.0.1:8080/health"


class HeartbeatPath(click.Path):
    """A file path that is not empty: ``""`` would name the working directory, which
    always exists, so a blank setting would pass without checking anything."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("empty; the heartbeat file a worker touches", param, ctx)
        return super().convert(value, param, ctx)


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A health URL that can be asked at all (a usage error, not an unhealthy process)."""
    if value is None:
        return None
    try:
        parts = urllib.parse.urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # an unclosed [IPv6 literal
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise click.BadParameter(f"{value!r}: {URL_HELP}", ctx, param)
    return value.strip()


def check_url(url: str, timeout: float) -> str | None:
    """None when the URL answers 2xx, else the reason."""
    if not url.startswith(("http://", "https://")):
        return f"--url {url!r} must be http(s)"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
            return None if 200 <= resp.status < 300 else f"{url} answered {resp.status}"
    except OSError as exc:
        return f"{url}: {exc}"


def check_heartbeat(path: Path, max_age: float) -> str | None:
    """None when the heartbeat file was touched within ``max_age`` seconds."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"heartbeat {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        return f"heartbeat {path} is {kind}; give the file a worker touches"
    age = time.time() - st.st_mtime
    return None if age <= max_age else f"heartbeat {path} is {age:.0f}s old (max {max_age:.0f}s)"


@click.command()
@click.option("--url", default=None, callback=_url,
              help="HTTP health endpoint that must answer 2xx.")
@setting_option(
    "",
    "--heartbeat",
    field="heartbeat_file",
    type=HeartbeatPath(path_type=Path),
    default=None,
    help="Heartbeat file a worker touches from its main loop.",
)
@click.option(
    "--max-age",
    type=SECONDS,
    default=120.0,
    show_default=True,
    help="Oldest acceptable heartbeat, seconds.",
)
@click.option(
    "--timeout", type=SECONDS, default=5.0, show_default=True, help="HTTP timeout, seconds."
)
def command(url: str | None, heartbeat: Path | None, max_age: float, timeout: float) -> None:
    """Exit 0 when the process is healthy, 1 (with the reason) when not."""
    if url is None and heartbeat is None:
        raise click.UsageError("give --url or --heartbeat (or set FEEDWATCH_HEARTBEAT_FILE)")
    problems = [
        p
        for p in (
            url is not None and check_url(url, timeout),
            heartbeat is not None and check_heartbeat(heartbeat, max_age),
        )
        if p
    ]
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo("healthy")
