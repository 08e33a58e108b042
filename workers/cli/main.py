"""The ``feedwatch`` command line.

Entry points are thin: parse, validate, build, run. Each subcommand lives in its own
module under ``workers/cli/commands`` exposing ``command`` (a click command or group);
the group discovers them lazily so ``feedwatch --help`` imports no heavy library.
A :class:`pipeline.errors.ConfigError` anywhere becomes a one-line message and exit 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from pipeline import __version__
from pipeline.errors import ConfigError, FeedwatchError

_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, as Python decodes argv


def discover(package: str) -> list[str]:
    """Names of the command modules in ``package`` (module ``foo_bar`` → ``foo-bar``)."""
    mod = importlib.import_module(package)
    return sorted(
        m.name.replace("_", "-")
        for m in pkgutil.iter_modules(mod.__path__)
        if not m.name.startswith("_")
    )


class LazyGroup(click.Group):
    """A click group whose subcommands are the modules of one package; ``aliases`` are
    old names that still run a command without being listed."""

    def __init__(self, *args: object, package: str, aliases: dict[str, str] | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.package = package
        self.aliases = aliases or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(discover(self.package)) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd_name = self.aliases.get(cmd_name, cmd_name)
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in discover(self.package):
            return None
        module = importlib.import_module(f"{self.package}.{cmd_name.replace('-', '_')}")
        return getattr(module, "command", None)


@click.group(
    cls=LazyGroup,
    package="workers.cli.commands",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def cli() -> None:
    """feedwatch: standing natural-language questions on live camera feeds.

    Every flag has an environment fallback (FEEDWATCH_...), shown in each command's help.
    """


@cli.command()
def version() -> None:
    """Print the feedwatch version."""
    click.echo(f"feedwatch {__version__}")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be: a command unwinds as on Ctrl-C (its
    temporary folders removed, its store closed) and the process exits 143."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM unwinds the command (a command may install its own handler over it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input is one line on stderr and exit code 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    for n, arg in enumerate(args, 1):
        if _SURROGATE.search(arg):
            click.echo(f"error: argument {n} is not valid UTF-8 (feedwatch reads its "
                       "arguments as UTF-8 text)", err=True)
            return 2
    try:
        with _sigterm_unwinds():
            code = cli.main(args=args, prog_name="feedwatch", standalone_mode=False)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, Terminated):
            click.echo("terminated", err=True)
            return 143
        click.echo("aborted", err=True)
        return 130
    except Terminated:  # outside click's own handling (after the command returned)
        click.echo("terminated", err=True)
        return 143
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError | click.BadParameter) else exc.exit_code
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except ValueError as exc:  # a setting read where a command builds its own section
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        from workers.config import settings_error

        click.echo(f"error: {settings_error(exc)}", err=True)
        return 2
    except FeedwatchError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    # a command's ``ctx.exit(N)`` comes back as N; a callback's own return value is not a code
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def entrypoint() -> None:
    sys.exit(main())
