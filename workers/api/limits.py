"""What the API sends back and takes in is bounded: a 422 quotes at most a short excerpt
of the input it refuses (never the whole body back)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

EXCERPT = 80
"""Characters of a refused value a 422 quotes."""
MESSAGE = 300
"""Characters of one error's message."""


def excerpt(value: Any) -> Any:
    """``value`` when it is a short JSON scalar, else a short text about it."""
    if value is None or isinstance(value, bool | int):
        return value if not isinstance(value, int) or abs(value) < 10**15 else str(value)[:20]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= EXCERPT else value[: EXCERPT - 1] + "…"
    if isinstance(value, dict | list | tuple):
        return f"<{'object' if isinstance(value, dict) else 'array'} of {len(value)}>"
    return f"<{type(value).__name__}>"


def short_errors(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors with their input cut to an excerpt and no ``ctx`` (it may hold
    the input again, or a value JSON cannot carry)."""
    return [
        {
            "loc": [p if isinstance(p, int) else str(p)[:EXCERPT] for p in e.get("loc", ())],
            "msg": str(e.get("msg", ""))[:MESSAGE],
            "type": str(e.get("type", "")),
            "input": excerpt(e.get("input")),
        }
        for e in errors[:20]
    ]
