"""The JSON Schema (draft 2020-12) of each topic's message, for third-party producers
and consumers; ``feedwatch schema TOPIC`` prints it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from connectors.bus.deadletter_models import DeadLetterHeader
from connectors.bus.models import AnswerMessage, QueryMessage, SegmentHeader
from connectors.bus.status_messages import CameraStatusMessage
from connectors.bus.wire import SCHEMA_VERSION
from pipeline.errors import ConfigError

DIALECT = "https://json-schema.org/draft/2020-12/schema"

TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "segments": SegmentHeader,
    "queries": QueryMessage,
    "answers": AnswerMessage,
    "deadletter": DeadLetterHeader,
    "status": CameraStatusMessage,
}
"""Topic (name without its prefix) → the model of what its records carry."""

IN_HEADERS = frozenset({"segments", "deadletter"})
"""Topics whose schema describes record headers (UTF-8 text), not a JSON value."""


def topic_model(topic: str) -> type[BaseModel]:
    """The model of ``topic`` (``answers`` or a prefixed ``feedwatch.answers``)."""
    name = topic.rsplit(".", 1)[-1]
    if name not in TOPIC_MODELS:
        raise ConfigError("TOPIC", topic, f"one of {', '.join(TOPIC_MODELS)}")
    return TOPIC_MODELS[name]


def json_schema(topic: str) -> dict[str, Any]:
    """The JSON Schema document of a topic's message (validation mode, wire names)."""
    name = topic.rsplit(".", 1)[-1]
    model = topic_model(topic)
    schema = model.model_json_schema(by_alias=True, mode="validation")
    carrier = (
        "the record's headers, each value UTF-8 text"
        if name in IN_HEADERS
        else ("the record's JSON value")
    )
    described = f"{schema.get('description', '')} Carried in {carrier}.".strip()
    return {
        "$schema": DIALECT,
        "$id": f"urn:feedwatch:topic:{name}:v{SCHEMA_VERSION}",
        **schema,
        "description": described,
    }
