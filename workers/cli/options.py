"""What the subcommands share: common options, durations, times, answer output.

Every flag with an environment fallback is declared one way, with :func:`env_option`
(click reads the variable and shows it in the help); a flag that overrides a
setting uses that setting's own variable, and :func:`workers.config.settings_from_flags`
validates the result before a command opens or prints anything.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from connectors.bus.models import answer_json
from connectors.bus.wire import LATEST_TIME
from pipeline.answerers.base import Answerer
from pipeline.errors import ConfigError
from pipeline.types import Answer
from workers.config import setting_env

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
DURATION_HELP = "like 500ms, 1s, 2.5s, 2m, 1h (a bare number is seconds)"



def env_option(*decls: str, env: str, **kwargs: Any) -> Callable[[F], F]:
    """A click option falling back to the environment variable ``env`` (shown in help)."""
    return click.option(*decls, envvar=env, show_envvar=True, **kwargs)


def setting_option(section: str, flag: str, *decls: str, field: str | None = None,
                   **kwargs: Any) -> Callable[[F], F]:
    """A flag that overrides a setting, reading the variable the settings read for it
    (``setting_option("perception", "--clip")``: ``FEEDWATCH_PERCEPTION_CLIP``): one
    name per setting in every command. ``field`` when the flag is named otherwise."""
    name = field or flag.lstrip("-").split("/")[0].replace("-", "_")
    return env_option(flag, *decls, env=setting_env(section, name), **kwargs)


def perception_option(flag: str, *decls: str, **kwargs: Any) -> Callable[[F], F]:
    """A flag for a perception setting (``--clip``, ``--device``, ``--vlm``, ...)."""
    return setting_option("perception", flag, *decls, **kwargs)


db_option = setting_option(
    "store",
    "--db",
    "db",
    field="url",
    default=None,
    help="SQL store URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
    "[default: sqlite:///feedwatch.db].",
)
kafka_option = setting_option(
    "kafka",
    "--kafka",
    "bootstrap",
    field="bootstrap",
    default=None,
    help="Kafka bootstrap host:port.",
)


def parse_duration(value: str | float, field: str) -> float:
    """Seconds from ``1s``/``500ms``/``2m``/``1h``; ConfigError naming ``field`` otherwise."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ConfigError(field, value, f"a positive duration {DURATION_HELP}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(field, value, f"a positive duration {DURATION_HELP}")
    return seconds


class Seconds(click.ParamType):
    """A positive, finite number of seconds (``5``, ``2.5s``, ``500ms``, ``2m``)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:
        try:
            return parse_duration(value, param.name if param and param.name else "seconds")
        except ConfigError:
            self.fail(f"{value!r}: a positive duration {DURATION_HELP}", param, ctx)


SECONDS = Seconds()


class Finite(click.ParamType):
    """A finite number (no NaN, no infinity) within bounds (``above``: strictly)."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None, *,
                 above: bool = False) -> None:
        self.low, self.high, self.above = low, high, above

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        low_ok = self.low is None or (number > self.low if self.above else number >= self.low)
        if not (math.isfinite(number) and low_ok and (self.high is None or number <= self.high)):
            self.fail(f"{value!r}: {self.allowed}", param, ctx)
        return number

    @property
    def allowed(self) -> str:
        parts = [] if self.low is None else [f"{'above' if self.above else 'at least'} "
                                              f"{self.low:g}"]
        parts += [] if self.high is None else [f"at most {self.high:g}"]
        return "a finite number" + (f" ({', '.join(parts)})" if parts else "")


COUNT = click.IntRange(min=1)
"""A whole number of things (cameras, events, passes), at least one."""


def parse_time(value: str, field: str) -> float:
    """Epoch seconds (or seconds from file start) from a number or an ISO-8601 UTC time;
    NaN, infinity and times past the stream-time bound (±1e11 s, as on the bus) are
    refused (they would silently match no window, or every one, or not print)."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return _bounded(number, value, field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(field, value, "epoch seconds or an ISO-8601 time with zone") from None
    if parsed.tzinfo is None:
        raise ConfigError(field, value, "an ISO-8601 time with a zone, e.g. 2026-01-01T12:00Z")
    return _bounded(parsed.timestamp(), value, field)


def _bounded(t: float, value: str, field: str) -> float:
    if not (math.isfinite(t) and abs(t) <= LATEST_TIME):
        raise ConfigError(field, value, f"a time within ±{LATEST_TIME:.0f} s of 1970: epoch "
                          "seconds, file seconds or an ISO-8601 time with a zone")
    return t


def echo_json(answer: Answer) -> None:
    """One answer as one JSON line on stdout, flushed at once (pipes see it live)."""
    click.echo(json.dumps(answer_json(answer), separators=(",", ":")))
    click.get_text_stream("stdout").flush()


def answerer_type(value: str, flag: str = "--answerer") -> type[Answerer]:
    """The answerer class registered as ``value`` (installed plugins included); a
    ConfigError naming ``flag`` and the known types otherwise."""
    from pipeline.extensions import answerer_types

    known = answerer_types()
    if value not in known:
        raise ConfigError(flag, value, f"one of {', '.join(sorted(known))}")
    return known[value]


class AnswererChoice(click.Choice):  # type: ignore[type-arg]
    """A choice among the answerer types, read when the flag is parsed (not when the
    command is defined), so an answerer a package installs is one of them."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from pipeline.extensions import answerer_types

        return tuple(sorted(answerer_types()))

    @choices.setter
    def choices(self, _: object) -> None:
        """Set by ``click.Choice.__init__``; the registry is the one source."""
