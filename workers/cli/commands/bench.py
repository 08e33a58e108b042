"""``feedwatch bench``: benchmarks, one module each under ``workers/bench``."""

from __future__ import annotations

import click

from workers.cli.main import LazyGroup


@click.group(cls=LazyGroup, package="workers.bench")
def command() -> None:
    """Measure feedwatch: each subcommand prints a table (``--json`` for machines)."""
