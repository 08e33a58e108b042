"""The message contracts on the wire, independent of any bus.

Every function here produces or consumes a :class:`Message` — a plain
``(key: bytes, value: bytes | None, headers: list[tuple[str, bytes]])`` triple — so the
in-process bus and Kafka carry byte-identical messages. What a message holds is one
pydantic model each (:mod:`connectors.bus.models`); this module only puts them in keys,
values and headers. Every message carries a ``schema`` header (and JSON bodies a
``schema`` field) holding :data:`SCHEMA_VERSION`. Anything malformed raises
:class:`pipeline.errors.MessageError`; callers route it to the dead-letter topic with
:func:`encode_deadletter`.

Contracts (see shared/DESIGN.md; ``feedwatch schema TOPIC`` prints each as JSON Schema):

``segments``
    key = camera id; value = container bytes (MPEG-TS); headers: the fields of
    :class:`~connectors.bus.models.SegmentHeader` as text (an optional ``lead``: a
    mid-GOP segment carries the packets from the keyframe ``lead`` s before ``start``;
    an optional ``rotation``: degrees to turn the frames counterclockwise upright).
``queries`` (compacted)
    key = query id; value = JSON :class:`~connectors.bus.models.QueryMessage`;
    ``None`` = tombstone (the query was deleted).
``answers``
    key = query id; value = JSON :class:`~connectors.bus.models.AnswerMessage`,
    evidence JPEGs base64-encoded.
``deadletter``
    key and value of the failed message, its original headers, plus the ``error.*``
    headers of :class:`~connectors.bus.deadletter_models.DeadLetterHeader`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.bus.deadletter_models import ERROR_PREFIX, DeadLetter, DeadLetterHeader
from connectors.bus.models import AnswerMessage, QueryMessage, SegmentHeader
from connectors.bus.wire import SCHEMA_VERSION, plain
from pipeline.errors import MessageError
from pipeline.types import Answer, Segment, StandingQuery

__all__ = [
    "ERROR_PREFIX",
    "SCHEMA_VERSION",
    "DeadLetter",
    "Headers",
    "HeadersIn",
    "Message",
    "MessageError",
    "decode_answer",
    "decode_deadletter",
    "decode_query",
    "decode_segment",
    "encode_answer",
    "encode_deadletter",
    "encode_query",
    "encode_query_tombstone",
    "encode_segment",
]

Headers = list[tuple[str, bytes]]
HeadersIn = Sequence[tuple[str, bytes | None]] | None
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")  # a row of a compacted topic, as the product holds it


class Message(NamedTuple):
    """A bus-agnostic message: exactly what a Kafka record carries."""

    key: bytes
    value: bytes | None
    headers: Headers


# ---------------------------------------------------------------- helpers


def refusal(contract: str, exc: ValidationError) -> MessageError:
    """The first validation error as one line naming the field."""
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "value"
    return MessageError(f"{contract} message: {where}: {' '.join(str(err['msg']).split())}")


def from_json(model: type[M], value: bytes | None, contract: str) -> M:
    """A JSON body validated strictly (no numbers from strings, no booleans as numbers)."""
    if value is None:
        raise MessageError(f"{contract} message: missing value")
    try:
        return model.model_validate_json(value, strict=True)
    except ValidationError as exc:
        raise refusal(contract, exc) from None


def from_headers(model: type[M], headers: HeadersIn, contract: str) -> M:
    """Text headers parsed to the model's types (last value of a name wins)."""
    text: dict[str, str] = {}
    for name, raw in headers or ():
        if raw is not None:
            try:
                text[str(name)] = bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                raise MessageError(f"{contract} message: header {name!r} is not UTF-8") from None
    try:
        return model.model_validate_strings(text)
    except ValidationError as exc:
        raise refusal(contract, exc) from None


def to_json(model: BaseModel) -> bytes:
    return model.model_dump_json(by_alias=True, fallback=plain).encode("utf-8")


def to_headers(model: BaseModel) -> Headers:
    """The model's fields as text headers, named by alias (``schema``, ``error.type``)."""
    body: dict[str, Any] = model.model_dump(by_alias=True, mode="json", fallback=plain)
    return [(n, (v if isinstance(v, str) else json.dumps(v)).encode()) for n, v in body.items()]


def key_text(key: bytes | None, contract: str) -> str:
    if not key:
        raise MessageError(f"{contract} message: empty key")
    try:
        return bytes(key).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageError(f"{contract} message: key is not UTF-8") from exc


def schema_header() -> tuple[str, bytes]:
    return ("schema", str(SCHEMA_VERSION).encode())


def _keyed(contract: str, key: bytes | None, field: str, value: str) -> str:
    found = key_text(key, contract)
    if found != value:
        raise MessageError(f"{contract} message: key {found!r} differs from {field} {value!r}")
    return found


# ---------------------------------------------------------------- segments


def encode_segment(segment: Segment) -> Message:
    """A segment as a message keyed by camera (one partition owns a camera)."""
    header = SegmentHeader.of(segment, schema=SCHEMA_VERSION)
    return Message(segment.camera.encode(), bytes(segment.data), to_headers(header))


def decode_segment(key: bytes | None, value: bytes | None, headers: HeadersIn) -> Segment:
    """The segment a message carries; :class:`MessageError` if anything is off."""
    header = from_headers(SegmentHeader, headers, "segment")
    _keyed("segment", key, "camera header", header.camera)
    if not value:
        raise MessageError(f"segment message for camera {header.camera!r}: empty value")
    return header.to_segment(bytes(value))


# ---------------------------------------------------------------- queries


def table_record(key: str, body: BaseModel | None) -> Message:
    """A record of a compacted topic (a table): ``body`` as JSON, or ``None`` for the
    tombstone that deletes ``key``."""
    return Message(key.encode(), None if body is None else to_json(body), [schema_header()])


def read_table_record(
    key: bytes | None, value: bytes | None, model: type[M], contract: str, key_field: str
) -> tuple[str, M | None]:
    """``(key, body)`` of a compacted topic's record; ``body`` is ``None`` for a
    tombstone, and its ``key_field`` must be the key."""
    found = key_text(key, contract)
    if value is None:
        return found, None
    body = from_json(model, value, contract)
    _keyed(contract, key, key_field, getattr(body, key_field))
    return found, body


@dataclass(frozen=True)
class Table(Generic[R, M]):
    """The records of one compacted topic (a table of rows of type ``R``): key = the
    row's ``key_field``, value = the row as JSON ``model``, ``None`` = a tombstone."""

    model: type[M]
    contract: str
    key_field: str
    to_body: Callable[[R], M]
    to_row: Callable[[M], R]

    def encode(self, row: R) -> Message:
        """The record that sets ``row``."""
        body = self.to_body(row)
        return table_record(str(getattr(body, self.key_field)), body)

    def tombstone(self, key: str) -> Message:
        """The record that deletes the row ``key``."""
        return table_record(key, None)

    def decode(
        self, key: bytes | None, value: bytes | None, headers: HeadersIn = None
    ) -> tuple[str, R | None]:
        """``(key, row)``; ``row`` is ``None`` for a tombstone."""
        found, body = read_table_record(key, value, self.model, self.contract, self.key_field)
        return found, None if body is None else self.to_row(body)


QUERIES: Table[StandingQuery, QueryMessage] = Table(
    QueryMessage, "query", "id", lambda q: QueryMessage.of(q, schema=SCHEMA_VERSION),
    QueryMessage.to_query,
)
encode_query, encode_query_tombstone = QUERIES.encode, QUERIES.tombstone
decode_query = QUERIES.decode


# ---------------------------------------------------------------- answers


def encode_answer(answer: Answer) -> Message:
    """An answer for the ``answers`` topic, keyed by query id."""
    return Message(
        answer.query_id.encode(), to_json(AnswerMessage.of_answer(answer)), [schema_header()]
    )


def decode_answer(key: bytes | None, value: bytes | None, headers: HeadersIn = None) -> Answer:
    """The answer a message carries; :class:`MessageError` if anything is off."""
    key_text(key, "answer")
    body = from_json(AnswerMessage, value, "answer")
    _keyed("answer", key, "query_id", body.query_id)
    return body.to_answer()


# ---------------------------------------------------------------- dead letters


def _original(headers: HeadersIn) -> Headers:
    kept = [(str(n), bytes(v)) for n, v in headers or () if v is not None]
    return [(n, v) for n, v in kept if not n.startswith(ERROR_PREFIX) and n != "schema"]


def encode_deadletter(
    original: Message | tuple[bytes | None, bytes | None, HeadersIn],
    error: BaseException | str,
    *,
    stage: str,
    topic: str = "",
    camera: str = "",
    partition: int = -1,
    offset: int = -1,
) -> Message:
    """Wrap a failed message with the error and its origin in headers."""
    key, value, headers = original
    etype = type(error).__name__ if isinstance(error, BaseException) else "Error"
    text = str(error).splitlines()[0] if str(error) else etype
    header = DeadLetterHeader.model_validate(
        {
            "schema": SCHEMA_VERSION,
            "error_type": etype,
            "error_message": text[:1000],
            "stage": stage,
            "topic": topic,
            "camera": camera,
            "partition": partition,
            "offset": offset,
        }
    )
    kept = _original(headers)
    return Message(
        bytes(key or b""), None if value is None else bytes(value), kept + to_headers(header)
    )


def decode_deadletter(key: bytes | None, value: bytes | None, headers: HeadersIn) -> DeadLetter:
    """The dead letter a message carries."""
    header = from_headers(DeadLetterHeader, headers, "deadletter")
    return DeadLetter(
        **header.fields(),
        schema=SCHEMA_VERSION,
        key=bytes(key or b""),
        value=None if value is None else bytes(value),
        headers=_original(headers),
    )
