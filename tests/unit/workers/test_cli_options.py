"""One CLI option layer: every environment fallback declared one way, --db declared once."""

from __future__ import annotations

from collections.abc import Iterator

import click

from workers.cli.main import cli


def commands(
    group: click.Group, ctx: click.Context, path: str = ""
) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{path}{name} is listed but does not load"
        yield f"{path}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, click.Context(command, parent=ctx), f"{path}{name} ")


def options() -> list[tuple[str, click.Option]]:
    ctx = click.Context(cli)
    return [
        (name, param)
        for name, command in commands(cli, ctx)
        for param in command.params
        if isinstance(param, click.Option)
    ]


def test_every_environment_fallback_is_read_by_click_and_shown_in_help() -> None:
    found = [(name, o) for name, o in options() if o.envvar]
    assert len(found) > 40
    for name, option in found:
        assert option.show_envvar, f"feedwatch {name} {option.opts[0]}: env var not shown"
        assert "[env " not in (option.help or ""), f"feedwatch {name} {option.opts[0]}"


def test_db_is_one_option_with_one_help_text() -> None:
    """Benches fill a scratch store of their own (a temporary one by default)."""
    dbs = [(n, o) for n, o in options() if "--db" in o.opts and not n.startswith("bench ")]
    assert len(dbs) >= 8
    assert len({(o.help, o.envvar) for _, o in dbs}) == 1, [(n, o.help) for n, o in dbs]
