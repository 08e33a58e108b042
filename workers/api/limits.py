"""What the API takes in and sends back is bounded.

:class:`BodyLimit` is the outermost middleware: a request whose ``Content-Length`` is
over the limit is answered 413 before anything reads it, authenticates or routes it;
a body without a length (chunked) is counted while it is read and cut at the limit,
so a client cannot make the API hold more than ``limit`` bytes of one body. A 422
quotes at most a short excerpt of the input it refuses (never the whole body back).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


_CLOSE = (b"connection", b"close")


class BodyTooLarge(HTTPException):
    """The body went over the limit while it was read (FastAPI passes it on as is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """Pure ASGI middleware: at most ``limit`` bytes of request body, else 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _too_large(send, self.limit)
            return
        started = over = False
        read = 0

        async def counted() -> Message:
            nonlocal read, over
            message = await receive()
            read += len(message.get("body", b""))
            if read > self.limit:
                over = True
                raise BodyTooLarge(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if over:  # the server must not go on reading the rest of the body
                    message = {**message, "headers": [*message.get("headers", ()), _CLOSE]}
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, self.limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length, if any (the server refuses a malformed one itself)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body over {limit} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), _CLOSE,
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def storable_params(request: Request) -> None:
    """A path or query parameter with a NUL is refused naming it (422), before a route
    compares it with stored text: PostgreSQL refuses NUL in text, and the store's
    refusal could only say that "the request" held a value it cannot hold."""
    for kind, params in (("path", request.path_params), ("query", request.query_params)):
        for name, value in params.items():
            if isinstance(value, str) and "\x00" in value:
                raise RequestValidationError([{
                    "loc": (kind, name), "type": "value_error", "input": value,
                    "msg": "no NUL character (U+0000): the store cannot hold it"}])
