"""The latency waterfall through the product's own path: the batch handler stamps each
answer's timings, the answers topic carries them, the sink and the worker observe the
stages, and ``bench e2e`` reports them per mode."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from connectors.bus.deadletter import DeadLetters
from connectors.store import MemoryAnswerSink
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.timings import EVENTS, STAGE_NAMES
from pipeline.types import Frame, Segment, StandingQuery
from tests.unit.fakes import RecordingProducer, red_frame, segment_json
from workers.answers_consumer import AnswersConsumer
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore

TOPICS = Topics.with_prefix("t.")
Q = StandingQuery("q1", "a red circle", ("*",), every=1.0, window=2.0, answerer="clip",
                  settings={"threshold": 0.3})
LIVE = 1_780_000_000.0  # a live camera's stream clock is the wall clock


def frames(segment: Segment, fps: float) -> list[Frame]:
    return [red_frame(segment.camera, t, False) for t in segment_json(segment)]


def handler(producer: RecordingProducer) -> BatchHandler:
    encoder = ColourEncoder()
    perceiver = build_perceiver(encoder, AnswererCache(encoder), SelectionConfig(),
                                Scheduler([Q]), frames, 1.0)
    return BatchHandler(PerceiveCore(perceiver), producer, TOPICS,
                        DeadLetters(producer, TOPICS.deadletter))


def live_record(camera: str, seq: int, partition: int, now: float) -> Record:
    """A segment filmed ``2 - seq`` s ago, cut 10 ms after its end, produced 5 ms later."""
    start = now - 2.0 * (2 - seq) - 2.0
    seg = Segment(camera, seq, start, 2.0, json.dumps([start, start + 1.0]).encode(),
                  closed_at=start + 2.01)
    return Record(TOPICS.segments, partition, seq, *msg.encode_segment(seg),
                  timestamp=start + 2.015)


def stage_count(stage: str) -> float:
    return REGISTRY.get_sample_value("feedwatch_stage_seconds_count", {"stage": stage}) or 0.0


def test_each_answer_carries_its_segments_path_in_order_on_the_bus() -> None:
    producer = RecordingProducer()
    before = {s: stage_count(s) for s in STAGE_NAMES}
    records = [live_record(cam, seq, p, time.time()) for seq in (0, 1) for p, cam in
               enumerate(("gate", "yard"))]
    consumed = [time.monotonic() - 0.2] * len(records)  # received 200 ms before the batch
    assert handler(producer)(records, consumed) > 0
    sent = [msg.decode_answer(k, v, h) for t, k, v, h in producer.sent if t == TOPICS.answers]
    assert sent and all(list(a.timings) == list(EVENTS[:-1]) for a in sent)  # not stored yet
    for a in sent:
        times = list(a.timings.values())
        assert times == sorted(times), a.timings  # the path's order, on one clock
        assert 0 <= a.timings["filmed"] - a.window_end < 2.0  # the segment that made it due
        assert a.timings["batch_start"] - a.timings["consumed"] == pytest.approx(0.2, abs=0.05)
    worker_stages = STAGE_NAMES[: STAGE_NAMES.index("answer_produce") + 1]
    assert all(stage_count(s) == before[s] + len(sent) for s in worker_stages)
    assert stage_count("store") == before["store"]  # the sink's to observe
    lag = REGISTRY.get_sample_value("feedwatch_consumer_lag_seconds", {"consumer": "perceive"})
    assert lag is not None and 3.9 < lag < 6.0  # the oldest record was produced ~4 s ago


def test_the_sink_observes_the_last_stage_and_the_whole_path() -> None:
    producer = RecordingProducer()
    handler(producer)([live_record("gate", 1, 0, time.time())])
    answers = [Record(TOPICS.answers, 0, i, k, v, h, time.time())
               for i, (t, k, v, h) in enumerate(producer.sent) if t == TOPICS.answers]
    store, total = stage_count("store"), stage_count("total")
    sink = MemoryAnswerSink()
    assert AnswersConsumer(sink, DeadLetters(producer, TOPICS.deadletter))(answers) == len(answers)
    assert stage_count("store") == store + len(answers)
    assert stage_count("total") == total + len(answers)


def test_a_timing_of_an_unknown_event_is_refused_naming_the_field() -> None:
    producer = RecordingProducer()
    handler(producer)([live_record("gate", 1, 0, time.time())])
    _, key, value, _ = next(s for s in producer.sent if s[0] == TOPICS.answers)
    body = json.loads(value or b"")
    body["timings"]["lunch"] = 1.0
    with pytest.raises(msg.MessageError, match="timings"):
        msg.decode_answer(key, json.dumps(body).encode())
    body["timings"] = {}  # an older producer's answer is still valid
    assert msg.decode_answer(key, json.dumps(body).encode()).timings == {}


def test_bench_e2e_embedded_reports_the_waterfall_of_a_short_run(tmp_path: Path) -> None:
    """The CI smoke test: real segments, paced, through the embedded run."""
    from workers.bench._embedded import camera_feeds, e2e_embedded, make_clips

    feeds = camera_feeds(make_clips(4.0, 1, tmp_path, size=(320, 240)), 2)
    out = e2e_embedded(ColourEncoder(), feeds)
    timings = out["timings"]
    assert out["answers"] == 8 and timings["total"]["n"] == 8
    # a file run knows no "filmed"; every other stage is measured for every answer
    assert list(timings) == [*STAGE_NAMES[1:], "total"]
    assert all(set(s) == {"p50_ms", "p95_ms", "mean_ms", "n"} for s in timings.values())
    assert timings["total"]["p95_ms"] == pytest.approx(out["latency_p95_ms"], abs=50.0)
