"""Durations as people write them: ``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``."""

from __future__ import annotations

import math
import re

from pipeline.errors import ConfigError

MAX_BACKFILL = 7 * 24 * 3600.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(
    value: str | float | int, field: str = "backfill", most: float = MAX_BACKFILL
) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"``; ConfigError otherwise."""
    if isinstance(value, bool):
        raise ConfigError(field, value, "a duration such as 90s, 30m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(field, value, "a duration such as 90s, 30m, 2h or 1d")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not (0 < seconds <= most and math.isfinite(seconds)):
        bound = f" and at most {most:.0f}s" if math.isfinite(most) else ""
        raise ConfigError(field, value, f"a finite duration above 0{bound}")
    return seconds
