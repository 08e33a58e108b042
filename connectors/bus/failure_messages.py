"""Query failures on the ``answers`` topic: why a standing query was set aside.

``answers`` (a second kind of record beside the answers)
    key = query id; value = JSON :class:`QueryErrorMessage`; headers ``schema`` and
    ``kind: query-failure`` (an answer record has no ``kind`` header).

A perceive worker sets a query aside when its answerer cannot be built or raises
while answering (once per query version, :class:`pipeline.engine.QueryFailure`), or
when its ``queries`` message is refused (an id made before the id rule, a message from
another producer that breaks a rule the API keeps: :meth:`QueryError.of_refused`); it
dead-letters the query AND sends this record, so the one consumer that writes the
store (:class:`workers.answers_consumer.AnswersConsumer`) records the failure in both
modes: a Kafka worker holds no store, and the answers topic is keyed by query id, so
the failure lands in order with that query's answers. The dead letter keeps the
query's message for replay; this record is what ``GET /api/queries/{id}`` shows.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field

from connectors.bus.messages import (
    HeadersIn,
    Message,
    from_json,
    key_text,
    schema_header,
    to_json,
)
from connectors.bus.wire import SCHEMA_VERSION, Finite, Text, Versioned, Wire
from pipeline.engine import QueryFailure
from pipeline.errors import MessageError

KIND_HEADER = "kind"
KIND = b"query-failure"
Stage = Literal["query-build", "query-answer", "query-message"]
KEY_MAX = 200
"""The longest query id a failure is recorded for (the store's column)."""


class QueryError(Wire):
    """Why a query was set aside; it stays so until a new version of it arrives."""

    query_id: Text
    version: int = Field(ge=1, description="The query version that failed.")
    stage: Stage = Field(description="query-build: its answerer could not be built; "
                                     "query-answer: the answerer raised while answering; "
                                     "query-message: its queries message was refused.")
    camera: str = Field(default="", max_length=200,
                        description='The camera it failed on ("" when it arrived).')
    error_type: str = Field(max_length=100, description="The exception's class name.")
    message: str = Field(max_length=1000, description="The error's first line.")
    at: Finite = Field(description="When the worker set it aside, UTC epoch s.")

    @classmethod
    def of_failure(cls, failure: QueryFailure, at: float) -> QueryError:
        error = failure.error
        text = (str(error).splitlines() or [""])[0] or type(error).__name__
        return cls(query_id=failure.query.id, version=failure.query.version,
                   stage=f"query-{failure.stage}", camera=failure.camera[:200],  # type: ignore[arg-type]
                   error_type=type(error).__name__[:100], message=text[:1000], at=at)


    @classmethod
    def of_refused(cls, key: bytes | None, value: bytes | None, error: BaseException,
                   at: float) -> QueryError | None:
        """The failure of a ``queries`` message that was refused, for the query its key
        names and the version its value gives; None when neither can be read (a
        tombstone, a key that is not text, a value with no version)."""
        try:
            query_id = (key or b"").decode("utf-8")
            body = json.loads(value or b"null")
        except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: RecursionError
            return None
        version = body.get("version") if isinstance(body, dict) else None
        if not (query_id and len(query_id) <= KEY_MAX and type(version) is int and version >= 1):
            return None
        text = (str(error).splitlines() or [""])[0] or type(error).__name__
        return cls(query_id=query_id, version=version, stage="query-message",
                   error_type=type(error).__name__[:100], message=text[:1000], at=at)


class QueryErrorMessage(Versioned, QueryError):
    """The value of a query-failure record on the answers topic (key = query id)."""


def is_query_failure(headers: HeadersIn) -> bool:
    return any(name == KIND_HEADER and value == KIND for name, value in headers or ())


def encode_query_failure(error: QueryError) -> Message:
    body = QueryErrorMessage.of(error, schema=SCHEMA_VERSION)
    return Message(error.query_id.encode(), to_json(body),
                   [schema_header(), (KIND_HEADER, KIND)])


def decode_query_failure(key: bytes | None, value: bytes | None,
                         headers: HeadersIn = None) -> QueryError:
    """The failure a record carries; :class:`MessageError` if anything is off."""
    found = key_text(key, "query-failure")
    body = from_json(QueryErrorMessage, value, "query-failure")
    if body.query_id != found:
        raise MessageError(f"query-failure message: key {found!r} differs from query_id "
                           f"{body.query_id!r}")
    return QueryError(**body.fields())
