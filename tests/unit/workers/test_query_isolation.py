"""One bad query never stops the others (issue 26): a query whose answerer cannot be
built, or raises while answering, is one dead letter per (query, version) and is set
aside, while every other query on every camera answers every window it would have."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from connectors.bus.deadletter import DeadLetters
from connectors.bus.failure_messages import decode_query_failure, is_query_failure
from pipeline.answerers import base
from pipeline.answerers.base import Answerer, AnswererSettings, AnswerResult
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, Segment, StandingQuery
from tests.unit.fakes import RecordingProducer, red_frame, segment_json
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore

TOPICS = Topics.with_prefix("t.")
ENCODER = ColourEncoder()
GOOD = StandingQuery("good", "a red circle", ("*",), 1.0, 2.0, "clip", {"threshold": 0.3})
NO_BUILD = StandingQuery("no-build", "a red circle", ("*",), 1.0, 2.0, "vlm", {})  # no VLM
BOOM = StandingQuery("boom", "a red circle", ("*",), 1.0, 2.0, "boom", {})


class BoomSettings(AnswererSettings):
    pass


class BoomAnswerer(Answerer):
    """Builds, then raises on every window it is asked to answer."""

    type: ClassVar[str] = "boom"
    config_cls: ClassVar[type[AnswererSettings]] = BoomSettings
    calls: ClassVar[int] = 0

    @classmethod
    def build(cls, config: Any, *, encoder: Any, vlm_spec: str = "") -> BoomAnswerer:
        return cls()

    def answer(self, query: Any, window: Any, selection: Any, query_emb: Any) -> AnswerResult:
        BoomAnswerer.calls += 1
        raise RuntimeError("the model fell over")


@pytest.fixture(autouse=True)
def boom_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(base._REGISTRY, "boom", BoomAnswerer)
    BoomAnswerer.calls = 0


def _decode(segment: Segment, fps: float) -> list[Frame]:
    return [red_frame(segment.camera, t, True) for t in segment_json(segment)]


def _records(queries: Sequence[StandingQuery], seconds: int, first: int = 0) -> list[Record]:
    out = [Record(TOPICS.queries, 0, i, *msg.encode_query(q), 0.0) for i, q in enumerate(queries)]
    for seq in range(first, first + seconds):
        for p, camera in enumerate(("dock", "yard")):
            start = float(seq)
            seg = Segment(camera, seq, start, 1.0, json.dumps([start, start + 0.5]).encode())
            out.append(Record(TOPICS.segments, p, seq, *msg.encode_segment(seg), seg.end))
    return out


def _handler() -> tuple[BatchHandler, RecordingProducer, RecordingProducer]:
    perceiver = build_perceiver(ENCODER, AnswererCache(ENCODER), SelectionConfig(),
                                Scheduler(), _decode, 2.0)
    answers, dead = RecordingProducer(), RecordingProducer()
    core = PerceiveCore(perceiver, queries_topic=TOPICS.queries)
    return BatchHandler(core, answers, TOPICS, DeadLetters(dead, "dl")), answers, dead


def _windows(producer: RecordingProducer) -> list[tuple[str, str, float]]:
    decoded = [msg.decode_answer(k, v) for _, k, v, h in producer.sent
               if not is_query_failure(h)]  # the failure reports beside the answers
    return sorted((a.query_id, a.camera, a.window_end) for a in decoded)


def _reports(producer: RecordingProducer) -> list[tuple[str, int, str]]:
    found = [decode_query_failure(k, v, h) for _, k, v, h in producer.sent if is_query_failure(h)]
    return sorted((e.query_id, e.version, e.stage) for e in found)


def test_bad_queries_are_one_dead_letter_each_and_the_good_one_answers_every_window() -> None:
    alone, alone_answers, _ = _handler()
    alone(_records([GOOD], 8))
    handler, answers, dead = _handler()
    handler(_records([GOOD, NO_BUILD, BOOM], 8))

    assert _windows(answers) == _windows(alone_answers) != []
    letters = [msg.decode_deadletter(k, v, h) for _, k, v, h in dead.sent]
    assert sorted((d.key, d.stage) for d in letters) == [
        (b"boom", "query-answer"), (b"no-build", "query-build")]
    by_key = {d.key: d for d in letters}
    assert by_key[b"boom"].camera in ("dock", "yard") and by_key[b"boom"].topic == "t.queries"
    assert json.loads(by_key[b"no-build"].value or b"{}")["version"] == 1
    assert "the model fell over" in by_key[b"boom"].error_message
    assert BoomAnswerer.calls == 1  # set aside: not tried on every window
    assert _reports(answers) == [("boom", 1, "query-answer"), ("no-build", 1, "query-build")]


def test_a_new_version_of_a_query_is_tried_again() -> None:
    handler, answers, dead = _handler()
    handler(_records([GOOD, BOOM], 4))
    handler(_records([], 4, first=4))  # more windows, the same version: set aside still
    assert len(dead.sent) == 1
    handler(_records([replace(BOOM, version=2)], 4, first=8))
    assert [msg.decode_deadletter(k, v, h).stage for _, k, v, h in dead.sent] == [
        "query-answer", "query-answer"]
    assert BoomAnswerer.calls == 2
    assert _reports(answers) == [("boom", 1, "query-answer"), ("boom", 2, "query-answer")]
    assert {a[0] for a in _windows(answers)} == {"good"}
