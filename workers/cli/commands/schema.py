"""``feedwatch schema [TOPIC]``: the JSON Schema of a topic's message.

A third-party producer or consumer validates against it; without TOPIC the topics
are listed.
"""

from __future__ import annotations

import json

import click


@click.command("schema")
@click.argument("topic", required=False)
def command(topic: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of TOPIC's message, or list the topics."""
    from connectors.bus.contracts import TOPIC_MODELS, json_schema

    if topic is None:
        for name, model in TOPIC_MODELS.items():
            click.echo(f"{name}\t{(model.__doc__ or '').split(chr(10))[0]}")
        return
    click.echo(json.dumps(json_schema(topic), indent=2))
