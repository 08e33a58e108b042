"""Helpers shared by the subcommands: durations, times, answer output.

A module starting with ``_`` is not discovered as a subcommand.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

import click

from pipeline.errors import ConfigError
from pipeline.types import Answer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
DURATION_HELP = "like 500ms, 1s, 2.5s, 2m, 1h (a bare number is seconds)"

JSON_FIELDS = (
    "query_id",
    "question",
    "camera",
    "window_start",
    "window_end",
    "matched",
    "score",
    "text",
    "frames",
    "rois",
    "visual_tokens",
    "latency_ms",
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


def parse_time(value: str, field: str) -> float:
    """Epoch seconds (or seconds from file start) from a number or an ISO-8601 UTC time."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(field, value, "epoch seconds or an ISO-8601 time with zone") from None
    if parsed.tzinfo is None:
        raise ConfigError(field, value, "an ISO-8601 time with a zone, e.g. 2026-01-01T12:00Z")
    return parsed.timestamp()


def answer_json(answer: Answer) -> dict[str, Any]:
    """The public JSON of an answer (the ``--json`` line), exactly :data:`JSON_FIELDS`."""
    return {
        "query_id": answer.query_id,
        "question": answer.question,
        "camera": answer.camera,
        "window_start": answer.window_start,
        "window_end": answer.window_end,
        "matched": answer.matched,
        "score": None if answer.score is None else round(answer.score, 6),
        "text": answer.text,
        "frames": list(answer.frames),
        "rois": [[round(x, 6) for x in r] for r in answer.rois],
        "visual_tokens": answer.visual_tokens,
        "latency_ms": answer.latency_ms,
    }


def echo_json(answer: Answer) -> None:
    """One answer as one JSON line on stdout, flushed at once (pipes see it live)."""
    click.echo(json.dumps(answer_json(answer), separators=(",", ":")))
    click.get_text_stream("stdout").flush()
