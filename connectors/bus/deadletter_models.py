"""The dead-letter message: the failed record's key, value and headers, plus ``error.*``
headers saying where and why (a model beside the others of :mod:`connectors.bus.models`)."""

from __future__ import annotations

from pydantic import Field

from connectors.bus.wire import Versioned

ERROR_PREFIX = "error."


class DeadLetterHeader(Versioned):
    """The ``error.*`` headers a dead letter adds to the failed key, value and headers."""

    error_type: str = Field(alias="error.type")
    error_message: str = Field(alias="error.message", max_length=1000)
    stage: str = Field(alias="error.stage", description="perceive, sink, ...")
    topic: str = Field(alias="error.topic")
    camera: str = Field(alias="error.camera")
    partition: int = Field(alias="error.partition", description="-1: unknown.")
    offset: int = Field(alias="error.offset", description="-1: unknown.")


class DeadLetter(DeadLetterHeader):
    """A message that could not be processed, with where and why."""

    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]] = Field(description="The original headers.")
