"""The batch handler both modes run counts the windows an outage costs, per camera and
reason, once per hole: in the metric, the run's stats and one log line."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from connectors.bus.deadletter import DeadLetters
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, Segment, StandingQuery
from tests.unit.fakes import RecordingProducer, red_frame, segment_json
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore

TOPICS = Topics.with_prefix("t.")
Q = StandingQuery("q1", "a red circle", ("*",), every=1.0, window=1.0)
ENCODER = ColourEncoder()


def _decode(segment: Segment, fps: float) -> list[Frame]:
    return [red_frame(segment.camera, t, True) for t in segment_json(segment)]


def _record(camera: str, seq: int, start: float, duration: float, times: list[float]) -> Record:
    seg = Segment(camera, seq, start, duration, json.dumps(times).encode())
    return Record(TOPICS.segments, 0, seq, *msg.encode_segment(seg), timestamp=seg.end)


def _skipped(camera: str) -> float:
    labels = {"camera": camera, "reason": "gap"}
    return REGISTRY.get_sample_value("feedwatch_windows_skipped_total", labels) or 0.0


def test_an_outage_is_answered_or_counted_skipped_window_by_window(caplog) -> None:
    perceiver = build_perceiver(ENCODER, AnswererCache(ENCODER), SelectionConfig(),
                                Scheduler([Q]), _decode, 1.0)
    handler = BatchHandler(PerceiveCore(perceiver), RecordingProducer(), TOPICS,
                           DeadLetters(RecordingProducer(), "dl"))
    # 0..10 s of frames; the camera drops at 10.4 (last frame 9.5) and is back at 20.6
    before = [_record("door", i, 2.0 * i, 2.0, [2.0 * i + 0.5, 2.0 * i + 1.5]) for i in range(5)]
    before.append(_record("door", 5, 10.0, 0.4, []))
    after = [_record("door", 6 + i, 20.6 + 2 * i, 2.0, [21.1 + 2 * i, 22.1 + 2 * i])
             for i in range(2)]
    was = _skipped("door")
    answered = handler(before)
    with caplog.at_level("WARNING", logger="pipeline.skips"):
        answered += handler(after)
    due = 24  # windows ending 1..24
    assert answered == 10 + 3  # ..10, then 22, 23, 24
    assert _skipped("door") - was == due - answered == 11
    assert perceiver.stats.skipped == {"gap": 11}
    assert [r.getMessage() for r in caplog.records] == [
        "camera door: skipped 11 window(s) of query q1 ending 11.000..21.000 "
        "(gap: no frame of the stream inside them)"]


def test_the_embedded_run_answers_or_counts_every_window_of_an_outage(tmp_path) -> None:
    from connectors.bus import MemoryBus
    from connectors.store import AnswerSink, Store
    from workers.perception.embedded import CameraSource, EmbeddedRun

    def segments(uri: str, camera: str, **_: object):
        for seq, (start, times) in enumerate([(0.0, [0.5, 1.5]), (2.0, [2.5]), (9.7, [10.2])]):
            yield Segment(camera, seq, start, 2.0 if seq < 2 else 1.0, json.dumps(times).encode())

    perceiver = build_perceiver(ENCODER, AnswererCache(ENCODER), SelectionConfig(),
                                Scheduler(), _decode, 1.0)
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    run = EmbeddedRun([CameraSource("door", "door.mp4")], [Q], perceiver, AnswerSink(store),
                      segments=segments, bus=MemoryBus(capacity={TOPICS.segments: 2}))
    stats = run.run()
    stored = sorted(a.window_end for a in store.answers(camera="door"))
    store.close()
    # due: ends 1..10; 4 (data to 4.0, no frame), 5..9 (in the hole), 10 (first frame 10.2)
    assert stored == [1.0, 2.0, 3.0]
    assert stats.skipped == {"gap": 7}
