"""What a standing query may be: one set of rules for the API, the bus and ``feedwatch run``.

A query that passes here can be built and answered by every worker, so a client
cannot hand the workers something that fails later for every camera. Bounds:
``every`` and ``window`` (seconds), the shape of ``settings`` (JSON values, finite
numbers, nesting depth, encoded size) and their content, checked by the answerer's
own typed settings model. Weights, device and batch size are operator settings of
the deployment (``perception.*``), never per query; so are the frame-selection
settings. Every problem is a :class:`ConfigError` naming the field and what is allowed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from pipeline.errors import ConfigError
from pipeline.extensions import answerer_types
from pipeline.perception import split_settings

QUERY_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
QUERY_ID_RULE = "1-128 of A-Z a-z 0-9 . _ : - (starting alphanumeric)"
"""A query id: a Kafka key, a URL path segment and a SQL key, so short and plain."""
_QUERY_ID = re.compile(QUERY_ID)
CAMERAS_MAX = 64
"""Camera ids one query names."""
EVERY_MIN, EVERY_MAX = 0.2, 3600.0
"""Seconds between evaluations (the API and ``feedwatch run --every``)."""
WINDOW_MIN, WINDOW_MAX = 0.5, 6 * 3600.0
"""Seconds of video one evaluation looks at."""
SETTINGS_DEPTH = 4
"""Containers nested in ``settings``, itself included (``{"clip": {"k": [1]}}`` is 3)."""
SETTINGS_BYTES = 8192
"""The encoded JSON size of ``settings``."""
OPERATOR_SETTINGS = frozenset({"model", "device", "batch_size"})
"""Keys only the operator sets (weights, device, batching), refused at any depth."""
EXCERPT = 80


def excerpt(value: object, most: int = EXCERPT) -> object:
    """``value`` for an error message when short; else a short text about it (an error
    never quotes the whole input)."""
    if isinstance(value, dict | list | tuple):
        return f"<{type(value).__name__} of {len(value)}>"
    text = repr(value)
    return value if len(text) <= most else text[: most - 1] + "…"


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_query_id(query_id: str, field: str = "id") -> str:
    """A query id by :data:`QUERY_ID_RULE` (the CLI's ``--id``, a ``queries`` message)."""
    if not isinstance(query_id, str) or not _QUERY_ID.match(query_id):
        shown = query_id if not isinstance(query_id, str) or len(query_id) <= 60 \
            else query_id[:60] + "…"
        raise ConfigError(field, shown, f"use {QUERY_ID_RULE}")
    return query_id


def check_every(every: float, field: str = "every") -> float:
    """Seconds between evaluations within the shared bounds."""
    if not (_seconds(every) and EVERY_MIN <= every <= EVERY_MAX):
        raise ConfigError(field, excerpt(every), f"{EVERY_MIN:g} to {EVERY_MAX:g} seconds")
    return float(every)


def check_window(window: float, every: float | None = None, field: str = "window") -> float:
    """Seconds of video per evaluation within the bounds, and at least ``every``."""
    if not (_seconds(window) and WINDOW_MIN <= window <= WINDOW_MAX):
        raise ConfigError(field, excerpt(window), f"{WINDOW_MIN:g} to {WINDOW_MAX:g} seconds")
    if every is not None and window < every:
        raise ConfigError(field, window, f"at least every ({every:g} s)")
    return float(window)


def check_settings(answerer: str, settings: Mapping[str, Any], field: str = "settings"
                   ) -> dict[str, Any]:
    """``settings`` as the ``answerer`` type's own model validates them, in the types it
    reads them as (what is stored); ConfigError naming the field (``settings.mode``)
    otherwise."""
    check_shape(settings, field)
    selection, own = split_settings(settings)
    for key in selection:
        raise ConfigError(f"{field}.{key}", excerpt(settings[key]),
                          "a frame-selection setting of the deployment (perception.*), "
                          "not a per-query one")
    cls = answerer_types().get(answerer)
    if cls is None:
        raise ConfigError("answerer", excerpt(answerer), f"one of {', '.join(answerer_types())}")
    return cls.normalized(own, field)


def fits(answerer: str, settings: Mapping[str, Any]) -> bool:
    """Whether ``settings`` are a valid query's settings for the ``answerer`` type."""
    try:
        check_settings(answerer, settings)
    except ConfigError:
        return False
    return True


def settings_schema(answerer: str) -> dict[str, Any]:
    """The JSON Schema of a query's settings for ``answerer``: its settings model without
    the operator settings, its stages' schemas in place (see ``Answerer.stages``)."""
    cls = answerer_types()[answerer]
    schema = cls.config_cls.model_json_schema()
    if "$defs" in schema:  # refs that would not resolve inside another document
        return {"type": "object", "description": schema.get("description", "")}
    props = schema.setdefault("properties", {})
    for key in OPERATOR_SETTINGS & props.keys():
        del props[key]
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k not in OPERATOR_SETTINGS]
    for name, stage in cls.stages.items():
        props[name] = settings_schema(stage)
    return schema


def check_shape(settings: Mapping[str, Any], field: str = "settings") -> dict[str, Any]:
    """JSON values only: string keys, finite numbers, no operator keys, nested at most
    :data:`SETTINGS_DEPTH` deep, at most :data:`SETTINGS_BYTES` encoded."""
    if not isinstance(settings, dict):
        raise ConfigError(field, excerpt(settings), "an object of answerer settings")
    stack: list[tuple[Any, int, str]] = [(settings, 1, field)]
    while stack:
        value, depth, where = stack.pop()
        stack.extend(_children(value, depth, where))
    size = len(json.dumps(settings, allow_nan=False, separators=(",", ":")).encode())
    if size > SETTINGS_BYTES:
        raise ConfigError(field, f"{size} bytes", f"at most {SETTINGS_BYTES} bytes as JSON")
    return dict(settings)


def _children(value: Any, depth: int, where: str) -> list[tuple[Any, int, str]]:
    """The values inside one settings value, each with its depth and name."""
    if isinstance(value, dict | list | tuple) and depth > SETTINGS_DEPTH:
        raise ConfigError(where, excerpt(value), f"settings nested at most {SETTINGS_DEPTH} deep")
    if isinstance(value, dict):
        return [(v, depth + 1, _key(where, k, v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [(v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(where, value, "a finite number")
    if value is not None and not isinstance(value, str | int | float):
        raise ConfigError(where, excerpt(value), "a JSON value")
    return []


def _key(where: str, key: object, value: object) -> str:
    if not isinstance(key, str):
        raise ConfigError(where, excerpt(key), "text keys")
    if key in OPERATOR_SETTINGS:
        raise ConfigError(f"{where}.{key}", excerpt(value), "an operator setting of the "
                          "deployment (perception.*), not a per-query one")
    return f"{where}.{key}"
