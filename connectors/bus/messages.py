"""The four message contracts, independent of any bus.

Every function here produces or consumes a :class:`Message` — a plain
``(key: bytes, value: bytes | None, headers: list[tuple[str, bytes]])`` triple — so the
in-process bus and Kafka carry byte-identical messages. Every message carries a
``schema`` header (and JSON bodies a ``schema`` field) holding :data:`SCHEMA_VERSION`.
Anything malformed raises :class:`pipeline.errors.MessageError`; callers route it to
the dead-letter topic with :func:`encode_deadletter`.

Contracts (see shared/DESIGN.md):

``segments``
    key = camera id; value = container bytes (MPEG-TS); headers ``camera``, ``seq``,
    ``start`` (epoch s), ``duration`` (s), ``container``, ``codec``, ``width``,
    ``height``; optional ``lead`` (s): a mid-GOP segment carries the packets from the
    keyframe ``lead`` seconds before ``start``, decoded only to reach its own frames.
``queries`` (compacted)
    key = query id; value = JSON of a :class:`StandingQuery`; ``None`` = tombstone
    (the query was deleted).
``answers``
    key = query id; value = JSON of an :class:`Answer`, evidence JPEGs base64-encoded.
``deadletter``
    key and value of the failed message, its original headers, plus ``error.type``,
    ``error.message``, ``error.stage``, ``error.topic``, ``error.camera``,
    ``error.partition``, ``error.offset``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from pipeline.errors import MessageError
from pipeline.types import Answer, Evidence, Segment, StandingQuery

SCHEMA_VERSION = 1
Headers = list[tuple[str, bytes]]
HeadersIn = Sequence[tuple[str, bytes | None]] | None
T = TypeVar("T")


class Message(NamedTuple):
    """A bus-agnostic message: exactly what a Kafka record carries."""

    key: bytes
    value: bytes | None
    headers: Headers


# ---------------------------------------------------------------- helpers


def _hdict(headers: HeadersIn) -> dict[str, bytes]:
    """Headers as a dict (last value wins, as Kafka clients usually read them)."""
    out: dict[str, bytes] = {}
    for name, raw in headers or ():
        if raw is not None:
            out[str(name)] = bytes(raw)
    return out


def _header(h: dict[str, bytes], name: str, parse: Callable[[str], T], contract: str) -> T:
    if name not in h:
        raise MessageError(f"{contract} message: missing header {name!r}")
    try:
        text = h[name].decode("utf-8")
        return parse(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MessageError(f"{contract} message: bad header {name}={h[name]!r}") from exc


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _check_schema(version: object, contract: str) -> None:
    if version != SCHEMA_VERSION:
        raise MessageError(f"{contract} message: schema {version!r}, expected {SCHEMA_VERSION}")


def _key(key: bytes | None, contract: str) -> str:
    if not key:
        raise MessageError(f"{contract} message: empty key")
    try:
        return bytes(key).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageError(f"{contract} message: key is not UTF-8") from exc


def _json(value: bytes | None, contract: str) -> dict[str, Any]:
    if value is None:
        raise MessageError(f"{contract} message: missing value")
    try:
        body = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"{contract} message: value is not JSON ({exc})") from exc
    except RecursionError as exc:  # "[[[[…" nested past the stack: refuse, don't crash
        raise MessageError(f"{contract} message: value nests too deeply") from exc
    if not isinstance(body, dict):
        raise MessageError(f"{contract} message: value is not a JSON object")
    _check_schema(body.get("schema"), contract)
    return body


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], contract: str) -> Any:
    if name not in body:
        raise MessageError(f"{contract} message: missing field {name!r}")
    value = body[name]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise MessageError(f"{contract} message: field {name!r} must be a number")
    if not isinstance(value, kind):
        raise MessageError(f"{contract} message: field {name!r} has type {type(value).__name__}")
    return value


def _schema_header() -> tuple[str, bytes]:
    return ("schema", str(SCHEMA_VERSION).encode())


# ---------------------------------------------------------------- segments


def encode_segment(segment: Segment) -> Message:
    """A segment as a message keyed by camera (one partition owns a camera)."""
    headers: Headers = [
        _schema_header(),
        ("camera", segment.camera.encode()),
        ("seq", str(segment.seq).encode()),
        ("start", repr(float(segment.start)).encode()),
        ("duration", repr(float(segment.duration)).encode()),
        ("container", segment.container.encode()),
        ("codec", segment.codec.encode()),
        ("width", str(segment.width).encode()),
        ("height", str(segment.height).encode()),
    ]
    if segment.lead:
        headers.append(("lead", repr(float(segment.lead)).encode()))
    return Message(segment.camera.encode(), bytes(segment.data), headers)


def decode_segment(key: bytes | None, value: bytes | None, headers: HeadersIn) -> Segment:
    """The segment a message carries; :class:`MessageError` if anything is off."""
    c = "segment"
    h = _hdict(headers)
    _check_schema(_header(h, "schema", int, c), c)
    camera = _header(h, "camera", str, c)
    if _key(key, c) != camera:
        raise MessageError(f"segment message: key {key!r} differs from camera header {camera!r}")
    if not value:
        raise MessageError(f"segment message for camera {camera!r}: empty value")
    duration = _header(h, "duration", _finite, c)
    if duration < 0:
        raise MessageError(f"segment message for camera {camera!r}: negative duration")
    return Segment(
        camera=camera,
        seq=_header(h, "seq", int, c),
        start=_header(h, "start", _finite, c),
        duration=duration,
        data=bytes(value),
        container=_header(h, "container", str, c),
        codec=_header(h, "codec", str, c),
        width=_header(h, "width", int, c) if "width" in h else 0,
        height=_header(h, "height", int, c) if "height" in h else 0,
        lead=_lead(h, camera),
    )


def _lead(h: dict[str, bytes], camera: str) -> float:
    """Optional ``lead`` header: seconds of carried packets before ``start`` (absent: 0)."""
    lead = _header(h, "lead", _finite, "segment") if "lead" in h else 0.0
    if lead < 0:
        raise MessageError(f"segment message for camera {camera!r}: negative lead")
    return lead


# ---------------------------------------------------------------- queries


def encode_query(query: StandingQuery) -> Message:
    """A standing query for the compacted ``queries`` topic."""
    body = {
        "schema": SCHEMA_VERSION,
        "id": query.id,
        "question": query.question,
        "cameras": list(query.cameras),
        "every": query.every,
        "window": query.window,
        "answerer": query.answerer,
        "settings": query.settings,
        "version": query.version,
    }
    return Message(query.id.encode(), _dump(body), [_schema_header()])


def encode_query_tombstone(query_id: str) -> Message:
    """The tombstone that deletes a query from the compacted topic."""
    return Message(query_id.encode(), None, [_schema_header()])


def decode_query(
    key: bytes | None, value: bytes | None, headers: HeadersIn = None
) -> tuple[str, StandingQuery | None]:
    """``(query_id, query)``; ``query`` is ``None`` for a tombstone."""
    c = "query"
    query_id = _key(key, c)
    if value is None:
        return query_id, None
    b = _json(value, c)
    if _field(b, "id", str, c) != query_id:
        raise MessageError(f"query message: key {query_id!r} differs from id {b['id']!r}")
    question = _field(b, "question", str, c).strip()
    cameras = _field(b, "cameras", list, c)
    every = float(_field(b, "every", (int, float), c))
    window = float(_field(b, "window", (int, float), c))
    if not question or not cameras or not all(isinstance(x, str) for x in cameras):
        raise MessageError(f"query message {query_id!r}: empty question or bad cameras")
    if not (every > 0 and window >= every and math.isfinite(window)):
        raise MessageError(f"query message {query_id!r}: need 0 < every <= window")
    query = StandingQuery(
        id=query_id,
        question=question,
        cameras=tuple(cameras),
        every=every,
        window=window,
        answerer=_field(b, "answerer", str, c),
        settings=dict(_field(b, "settings", dict, c)),
        version=int(_field(b, "version", int, c)),
    )
    return query_id, query


# ---------------------------------------------------------------- answers


def answer_to_dict(answer: Answer, *, evidence: bool = True) -> dict[str, Any]:
    """The JSON body of an answer (also what ``--json`` prints, without evidence)."""
    body: dict[str, Any] = {
        "query_id": answer.query_id,
        "question": answer.question,
        "camera": answer.camera,
        "window_start": answer.window_start,
        "window_end": answer.window_end,
        "evaluated_at": answer.evaluated_at,
        "answerer": answer.answerer,
        "matched": answer.matched,
        "score": answer.score,
        "text": answer.text,
        "frames": list(answer.frames),
        "rois": [list(r) for r in answer.rois],
        "visual_tokens": answer.visual_tokens,
        "latency_ms": answer.latency_ms,
        "model_ids": dict(answer.model_ids),
    }
    if evidence:
        body["evidence"] = [
            {"t": e.t, "box": list(e.box), "jpeg": base64.b64encode(e.jpeg).decode("ascii")}
            for e in answer.evidence
        ]
    return body


def encode_answer(answer: Answer) -> Message:
    """An answer for the ``answers`` topic, keyed by query id."""
    body = {"schema": SCHEMA_VERSION, **answer_to_dict(answer)}
    return Message(answer.query_id.encode(), _dump(body), [_schema_header()])


def _box(raw: object, c: str) -> tuple[float, float, float, float]:
    if not (isinstance(raw, list) and len(raw) == 4 and all(_is_num(x) for x in raw)):
        raise MessageError(f"{c} message: bad box {raw!r}")
    return (float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))


def _is_num(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _evidence(raw: object, c: str) -> Evidence:
    if not isinstance(raw, dict) or not _is_num(raw.get("t")):
        raise MessageError(f"{c} message: bad evidence item")
    try:
        jpeg = base64.b64decode(str(raw.get("jpeg", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageError(f"{c} message: evidence jpeg is not base64") from exc
    return Evidence(t=float(raw["t"]), jpeg=jpeg, box=_box(raw.get("box"), c))


def _optional(b: dict[str, Any], name: str, kind: type, c: str) -> Any:
    return None if b.get(name) is None else _field(b, name, kind, c)


def decode_answer(key: bytes | None, value: bytes | None, headers: HeadersIn = None) -> Answer:
    """The answer a message carries; :class:`MessageError` if anything is off."""
    c = "answer"
    query_id = _key(key, c)
    b = _json(value, c)
    if _field(b, "query_id", str, c) != query_id:
        raise MessageError(f"answer message: key {query_id!r} differs from query_id")
    frames = _field(b, "frames", list, c)
    if not all(_is_num(t) for t in frames):
        raise MessageError("answer message: frames must be numbers")
    score = _optional(b, "score", (int, float), c)  # type: ignore[arg-type]
    return Answer(
        query_id=query_id,
        question=_field(b, "question", str, c),
        camera=_field(b, "camera", str, c),
        window_start=float(_field(b, "window_start", (int, float), c)),
        window_end=float(_field(b, "window_end", (int, float), c)),
        evaluated_at=float(_field(b, "evaluated_at", (int, float), c)),
        answerer=_field(b, "answerer", str, c),
        text=_field(b, "text", str, c),
        matched=_optional(b, "matched", bool, c),
        score=None if score is None else float(score),
        frames=tuple(float(t) for t in frames),
        rois=tuple(_box(r, c) for r in _field(b, "rois", list, c)),
        visual_tokens=int(_field(b, "visual_tokens", int, c)),
        latency_ms=float(_field(b, "latency_ms", (int, float), c)),
        model_ids={str(k): str(v) for k, v in _field(b, "model_ids", dict, c).items()},
        evidence=tuple(_evidence(e, c) for e in b.get("evidence") or ()),
    )


# ---------------------------------------------------------------- dead letters

ERROR_PREFIX = "error."


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be processed, with where and why."""

    key: bytes
    value: bytes | None
    headers: Headers  # the original headers, without the error.* ones
    error_type: str
    error_message: str
    stage: str
    topic: str
    camera: str
    partition: int
    offset: int


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
    kept = [
        (n, bytes(v)) for n, v in headers or () if v is not None and not n.startswith(ERROR_PREFIX)
    ]
    kept = [(n, v) for n, v in kept if n != "schema"]
    etype = type(error).__name__ if isinstance(error, BaseException) else "Error"
    text = str(error).splitlines()[0] if str(error) else etype
    extra: Headers = [
        _schema_header(),
        ("error.type", etype.encode()),
        ("error.message", text[:1000].encode("utf-8", "replace")),
        ("error.stage", stage.encode()),
        ("error.topic", topic.encode()),
        ("error.camera", camera.encode()),
        ("error.partition", str(partition).encode()),
        ("error.offset", str(offset).encode()),
    ]
    return Message(bytes(key or b""), None if value is None else bytes(value), kept + extra)


def decode_deadletter(key: bytes | None, value: bytes | None, headers: HeadersIn) -> DeadLetter:
    """The dead letter a message carries."""
    c = "deadletter"
    h = _hdict(headers)
    _check_schema(_header(h, "schema", int, c), c)
    original = [(n, bytes(v)) for n, v in headers or () if v is not None]
    original = [(n, v) for n, v in original if not n.startswith(ERROR_PREFIX) and n != "schema"]
    return DeadLetter(
        key=bytes(key or b""),
        value=None if value is None else bytes(value),
        headers=original,
        error_type=_header(h, "error.type", str, c),
        error_message=_header(h, "error.message", str, c),
        stage=_header(h, "error.stage", str, c),
        topic=_header(h, "error.topic", str, c),
        camera=_header(h, "error.camera", str, c),
        partition=_header(h, "error.partition", int, c),
        offset=_header(h, "error.offset", int, c),
    )
