"""The four bus contracts: round trips, exact shapes, and malformed input."""

from __future__ import annotations

import json

import pytest

from connectors.bus import messages as m
from pipeline.errors import MessageError
from pipeline.types import Answer, Evidence, Segment, StandingQuery

SEG = Segment("door", 7, 1_700_000_000.5, 2.0, b"\x47" * 188, "mpegts", "h264", 640, 360)
QUERY = StandingQuery("q-1", "a red circle", ("door", "yard"), 1.0, 4.0, "clip", {"mode": "margin"})
ANSWER = Answer(
    "q-1",
    "a red circle",
    "door",
    0.0,
    4.0,
    1_700_000_001.0,
    "clip",
    "yes",
    True,
    0.31,
    (1.0, 2.0),
    ((0.0, 0.25, 0.5, 0.75), (0.5, 0.0, 1.0, 0.5)),
    30,
    12.5,
    {"clip": "shapes-demo"},
    (Evidence(1.0, b"\xff\xd8jpeg", (0.0, 0.25, 0.5, 0.75)),),
)


def test_segment_round_trip_and_headers() -> None:
    key, value, headers = m.encode_segment(SEG)
    assert key == b"door" and value == SEG.data
    h = dict(headers)
    assert {"camera", "seq", "start", "duration", "container", "codec", "schema"} <= set(h)
    assert h["schema"] == b"1" and h["seq"] == b"7"
    assert m.decode_segment(key, value, headers) == SEG


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k, v, h: (k, v, [x for x in h if x[0] != "start"]),
        lambda k, v, h: (k, v, [(n, b"soon" if n == "start" else b) for n, b in h]),
        lambda k, v, h: (k, v, [(n, b"2" if n == "schema" else b) for n, b in h]),
        lambda k, v, h: (b"other", v, h),
        lambda k, v, h: (k, b"", h),
        lambda k, v, h: (k, v, [(n, b"nan" if n == "duration" else b) for n, b in h]),
    ],
    ids=["missing-start", "bad-start", "schema-2", "key-mismatch", "empty", "nan-duration"],
)
def test_segment_malformed_raises_message_error(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MessageError):
        m.decode_segment(*mutate(*m.encode_segment(SEG)))


def test_query_round_trip_and_tombstone() -> None:
    key, value, headers = m.encode_query(QUERY)
    assert key == b"q-1" and json.loads(value or b"")["schema"] == m.SCHEMA_VERSION
    assert m.decode_query(key, value, headers) == ("q-1", QUERY)
    tomb = m.encode_query_tombstone("q-1")
    assert tomb.value is None
    assert m.decode_query(*tomb) == ("q-1", None)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"schema": 99}).encode(),
        json.dumps({**json.loads(m.encode_query(QUERY).value or b""), "question": "  "}).encode(),
        json.dumps({**json.loads(m.encode_query(QUERY).value or b""), "window": 0.5}).encode(),
        json.dumps({**json.loads(m.encode_query(QUERY).value or b""), "id": "q-2"}).encode(),
        json.dumps({**json.loads(m.encode_query(QUERY).value or b""), "every": True}).encode(),
    ],
    ids=["text", "array", "schema", "empty-question", "window<every", "id!=key", "bool-every"],
)
def test_query_malformed(body: bytes) -> None:
    with pytest.raises(MessageError):
        m.decode_query(b"q-1", body, [])


def test_answer_round_trip_keeps_evidence_bytes() -> None:
    key, value, headers = m.encode_answer(ANSWER)
    assert key == b"q-1"
    assert m.decode_answer(key, value, headers) == ANSWER


def test_answer_malformed() -> None:
    body = json.loads(m.encode_answer(ANSWER).value or b"")
    for broken in (
        {**body, "frames": ["x"]},
        {**body, "rois": [[0, 1]]},
        {k: v for k, v in body.items() if k != "camera"},
        {**body, "evidence": [{"t": 1.0, "box": [0, 0, 1, 1], "jpeg": "%%%"}]},
    ):
        with pytest.raises(MessageError):
            m.decode_answer(b"q-1", json.dumps(broken).encode(), [])
    with pytest.raises(MessageError):
        m.decode_answer(b"", m.encode_answer(ANSWER).value, [])


def test_deadletter_carries_original_and_context() -> None:
    original = m.encode_segment(SEG)
    dl = m.encode_deadletter(
        original,
        ValueError("bad bytes\nsecond line"),
        stage="decode",
        topic="feedwatch.segments",
        camera="door",
        partition=3,
        offset=42,
    )
    assert dl.key == original.key and dl.value == original.value
    got = m.decode_deadletter(*dl)
    assert (got.error_type, got.error_message, got.stage) == ("ValueError", "bad bytes", "decode")
    assert (got.camera, got.partition, got.offset, got.topic) == (
        "door",
        3,
        42,
        "feedwatch.segments",
    )
    assert dict(got.headers)["seq"] == b"7"
    assert m.decode_segment(got.key, got.value, [*got.headers, ("schema", b"1")]) == SEG


def test_deadletter_without_context_headers_is_malformed() -> None:
    with pytest.raises(MessageError):
        m.decode_deadletter(b"k", b"v", [("schema", b"1")])
