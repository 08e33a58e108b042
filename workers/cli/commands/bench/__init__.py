"""``feedwatch bench``: one subcommand module each here; what they measure is in
:mod:`workers.bench` (no click there)."""

from __future__ import annotations

import click

from workers.cli.main import LazyGroup


@click.group(cls=LazyGroup, package="workers.cli.commands.bench",
             aliases={"alert-latency": "alerts"})
def command() -> None:
    """Measure feedwatch: each subcommand prints a table (``--json`` for machines)."""
