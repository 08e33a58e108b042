"""One forged record on the bus must not hold a worker, the sink or the store: times,
durations, steps and counts are bounded on the wire (a dead letter naming the field), a
stream clock far in the future is not a camera's clock for retention, and the scheduler
skips a long hole by arithmetic instead of listing it."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from connectors.bus import messages as m
from connectors.bus.failure_messages import QueryError
from connectors.store import Store
from connectors.store.db import store_errors
from connectors.store.retention import Pruner, RetentionPolicy
from pipeline.errors import MessageError, StoreDataError
from pipeline.scheduler import Scheduler
from pipeline.types import Answer, Segment, StandingQuery

SEG = Segment("door", 7, 100.0, 2.0, b"\x47" * 188)
ANSWER = Answer("q1", "a red circle", "door", 96.0, 100.0, 100.5, "clip", "yes", True, 0.3,
                (99.0,), ((0.1, 0.1, 0.5, 0.5),), 10, 5.0, every=1.0)


@pytest.mark.parametrize(("header", "raw"), [
    ("duration", b"1000000"), ("lead", b"1e9"), ("start", b"1e300"), ("camera", b"../../etc"),
    ("camera", b"cam/x"),
])
def test_a_segment_outside_what_a_camera_sends_is_refused_by_name(header: str, raw: bytes) -> None:
    key, value, headers = m.encode_segment(SEG)
    forged = [(n, raw if n == header else v) for n, v in headers]
    with pytest.raises(MessageError, match=header):
        m.decode_segment(raw if header == "camera" else key, value, forged)


@pytest.mark.parametrize(("change", "field"), [
    ({"every": 1e9}, "every"), ({"window_end": 1e300, "window_start": 1e300}, "window_(start|end)"),
    ({"window_start": 101.0}, "window_start"), ({"window_start": -1e9}, "window_start"),
    ({"camera": "c\u0000d"}, "camera"), ({"camera": "*"}, "camera"),
    ({"visual_tokens": 2**70}, "visual_tokens"),
])
def test_an_answer_that_would_hold_the_sink_is_refused_by_name(
        change: dict[str, object], field: str) -> None:
    key, value, headers = m.encode_answer(ANSWER)
    forged = json.dumps({**json.loads(value or b"{}"), **change}).encode()
    with pytest.raises(MessageError, match=field):
        m.decode_answer(key, forged, headers)


def test_a_query_version_past_what_an_answer_carries_is_refused() -> None:
    key, value, headers = m.encode_query(StandingQuery("q1", "a red circle"))
    body = {**json.loads(value or b"{}"), "version": 10**30}
    with pytest.raises(MessageError, match="version"):
        m.decode_query(key, json.dumps(body).encode(), headers)


def test_deep_nesting_on_the_queries_topic_is_not_a_traceback() -> None:
    deep = b"[" * 100_000
    assert QueryError.of_refused(b"q1", deep, ValueError("bad"), 0.0) is None


def test_an_integer_sqlite_cannot_hold_is_a_refused_value() -> None:
    with pytest.raises(StoreDataError), store_errors("storing"):
        raise OverflowError("Python int too large to convert to SQLite INTEGER")


def test_a_stream_time_far_in_the_future_is_not_a_cameras_clock(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'r.db'}")
    store.insert_answers([dataclasses.replace(ANSWER, window_start=e - 4, window_end=e)
                          for e in range(4, 100, 4)])
    forged = time.time() + 30 * 86_400  # a month ahead: forged, not a camera's clock
    store.insert_answers([dataclasses.replace(ANSWER, query_id="q2", window_start=forged - 4,
                                              window_end=forged)])
    pruner = Pruner(store.engine, RetentionPolicy(answers=50))
    pruner.observe("door", forged)  # as a sink sees what it stores: not a clock either
    pruner.prune()
    kept = [a for a in store.answers(camera="door") if a.query_id == "q1"]
    assert min(a.window_end for a in kept) >= 96 - 50 and len(kept) == 13  # door's own clock
    store.close()


def test_a_long_hole_is_skipped_without_listing_it() -> None:
    sched = Scheduler([StandingQuery("q1", "a red circle", every=1.0, window=4.0)])
    sched.advance("door", 2.0, since=0.0)
    t0 = time.perf_counter()
    due = sched.advance("door", 1e7 + 2.0, since=1e7)  # ten million windows of nothing
    assert time.perf_counter() - t0 < 1.0  # arithmetic, not a list of them
    assert due and max(d.end for d in due) == 1e7 + 2.0
    assert sched.skipped["gap"] > 9_999_000
