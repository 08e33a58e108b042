"""The perception core and batch handler with fakes: batching, warm-up, dead letters, the sink."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from connectors.bus.deadletter import DeadLetters
from connectors.retry import RetryPolicy
from connectors.store import AnswerSink, Store
from pipeline.perceiver import AnswererCache, Perceiver, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Answer, Frame, Segment, StandingQuery
from tests.unit.fakes import RecordingProducer, red_frame, segment_json
from workers.answers_consumer import AnswersConsumer
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore

VISIBLE = (5.0, 8.0)
TOPICS = Topics.with_prefix("t.")
Q = StandingQuery(
    "q1",
    "a red circle",
    ("*",),
    every=1.0,
    window=3.0,
    answerer="clip",
    settings={"threshold": 0.3},
)


def fake_decode(segment: Segment, fps: float) -> list[Frame]:
    times = segment_json(segment)
    return [red_frame(segment.camera, t, VISIBLE[0] <= t < VISIBLE[1]) for t in times]


def segment(camera: str, seq: int) -> Segment:
    start = float(seq)
    return Segment(camera, seq, start, 1.0, json.dumps([start, start + 0.5]).encode())


def record(seg: Segment, offset: int, partition: int = 0) -> Record:
    key, value, headers = msg.encode_segment(seg)
    return Record(TOPICS.segments, partition, offset, key, value, headers, timestamp=seg.end)


ENCODER = ColourEncoder()
ANSWERERS = AnswererCache(ENCODER)


def factory(queries: Iterable[StandingQuery]) -> Perceiver:
    return build_perceiver(
        ENCODER, ANSWERERS, SelectionConfig(), Scheduler(list(queries)), fake_decode, 2.0
    )


def new_core(history: ListHistory | None = None) -> PerceiveCore:
    """A worker's core: one perceiver for every camera it owns."""
    return PerceiveCore(factory([]), history)


class ListHistory:
    """The records of the partition, as the topic would return them."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = list(records)
        self.calls: list[int] = []

    def before(self, rec: Record, seconds: float) -> list[Record]:
        self.calls.append(rec.offset)
        return [r for r in self.records if r.partition == rec.partition and r.offset < rec.offset]


def key(a: Answer) -> tuple[object, ...]:
    return (
        a.query_id,
        a.camera,
        a.window_start,
        a.window_end,
        a.matched,
        round(a.score or 0, 6),
        a.frames,
    )


def run_core(core: PerceiveCore, records: Sequence[Record]) -> list[Answer]:
    return [a for r in records for a in core.handle(r)]


RECORDS = [record(segment("cam", i), offset=i) for i in range(12)]


def test_core_gives_the_embedded_perceivers_answers() -> None:
    core = new_core()
    core.on_query("q1", Q)
    got = run_core(core, RECORDS)
    embedded = factory([Q])
    want = [a for i in range(12) for a in embedded.on_segment(segment("cam", i))]
    assert [key(a) for a in got] == [key(a) for a in want]
    assert [a.window_end for a in got] == [float(e) for e in range(1, 13)]
    assert [a.matched for a in got] == [e - 3 < 8 and e > 5 for e in range(1, 13)]


def test_a_worker_taking_over_a_camera_warms_up_and_answers_as_if_uninterrupted() -> None:
    whole = new_core()
    whole.on_query("q1", Q)
    reference = run_core(whole, RECORDS)
    history = ListHistory(RECORDS)
    taker = new_core(history)
    taker.on_query("q1", Q)
    got = run_core(taker, RECORDS[7:])
    assert history.calls == [7]
    assert taker.stats.warm_segments == 3  # window 3 s of 1 s segments
    assert [key(a) for a in got] == [key(a) for a in reference if a.window_end > 7.0]


def test_without_warm_up_the_first_windows_after_a_takeover_are_short() -> None:
    cold = new_core(None)
    cold.on_query("q1", Q)
    first = run_core(cold, RECORDS[7:])[0]
    assert first.window_end == 8.0 and first.window_start == 7.0  # clipped to what it saw


def test_an_offset_gap_means_the_partition_changed_hands_and_cools_its_cameras() -> None:
    history = ListHistory(RECORDS)
    core = new_core(history)
    core.on_query("q1", Q)
    run_core(core, RECORDS[:3])
    run_core(core, RECORDS[3:5])  # contiguous: no new warm-up
    assert history.calls == [0]
    run_core(core, RECORDS[9:10])  # another worker had 5..8
    assert history.calls == [0, 9]
    replayed = run_core(core, RECORDS[6:8])  # rewind (redelivery after a crash)
    assert history.calls == [0, 9, 6]
    assert [a.window_end for a in replayed] == [7.0, 8.0]


def test_queries_are_added_and_removed_on_running_cameras() -> None:
    core = new_core()
    core.on_query("q1", Q)
    run_core(core, RECORDS[:2])
    q2 = StandingQuery("q2", "a blue square", ("cam",), 2.0, 2.0, "clip")
    core.on_query("q2", q2)
    ids = {a.query_id for a in run_core(core, RECORDS[2:4])}
    assert ids == {"q1", "q2"}
    core.on_query("q1", None)
    assert {a.query_id for a in run_core(core, RECORDS[4:6])} == {"q2"}


def test_handler_produces_answers_acknowledged_before_it_returns() -> None:
    core = new_core()
    core.on_query("q1", Q)
    producer = RecordingProducer(fail_flushes=1)
    handler = BatchHandler(
        core,
        producer,
        TOPICS,
        DeadLetters(RecordingProducer(), "dl"),
        retry=RetryPolicy(initial=0.001, maximum=0.001),
    )
    assert handler([RECORDS[0]]) == 1
    assert producer.acked == [2]  # the failed flush was retried with the answer re-sent
    answers = [msg.decode_answer(k, v, h) for t, k, v, h in producer.sent]
    assert {a.window_end for a in answers} == {1.0} and producer.sent[0][0] == "t.answers"


def test_bad_records_become_dead_letters_and_the_camera_keeps_answering() -> None:
    core = new_core()
    core.on_query("q1", Q)
    dl_producer = RecordingProducer()
    handler = BatchHandler(core, RecordingProducer(), TOPICS, DeadLetters(dl_producer, "dl"))
    corrupt = Segment("cam", 2, 2.0, 1.0, b"\x00garbage")
    no_headers = Record(TOPICS.segments, 0, 3, b"cam", b"junk", [], 0.0)
    results = [
        handler([RECORDS[0]]),
        handler([RECORDS[1]]),
        handler([record(corrupt, 2)]),
        handler([no_headers]),
        handler([record(segment("cam", 4), 4)]),
    ]
    assert results[:4] == [1, 1, 0, 0] and results[4] >= 1
    letters = [msg.decode_deadletter(k, v, h) for _t, k, v, h in dl_producer.sent]
    assert [(d.error_type, d.camera, d.partition, d.offset) for d in letters] == [
        ("DecodeError", "cam", 0, 2),
        ("MessageError", "cam", 0, 3),
    ]
    assert letters[0].value == b"\x00garbage"


def _answer(end: float, query_id: str = "q1") -> Answer:
    return Answer(
        query_id,
        "a red circle",
        "cam",
        end - 3,
        end,
        end + 0.2,
        "clip",
        "no",
        False,
        0.1,
        (end - 1,),
        ((0.0, 0.0, 1.0, 1.0),),
        4,
        3.0,
    )


def test_sink_stores_each_window_once_and_dead_letters_malformed_answers(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    store.upsert_query(Q)
    dl = RecordingProducer()
    handler = AnswersConsumer(AnswerSink(store), DeadLetters(dl, "dl"))
    recs = [
        Record("t.answers", 0, i, *msg.encode_answer(_answer(float(e))), 0.0)
        for i, e in enumerate([1, 2, 3])
    ]
    assert handler(recs) == 3
    bad = Record("t.answers", 0, 3, b"q1", b"{not json", [], 0.0)
    assert handler([recs[1], bad, recs[2]]) == 0  # redelivery is harmless
    assert store.count_answers() == 3
    assert msg.decode_deadletter(*dl.sent[0][1:]).offset == 3


@pytest.mark.parametrize("offset", [0, 5])
def test_first_record_of_a_partition_is_always_cold(offset: int) -> None:
    history = ListHistory(RECORDS)
    core = new_core(history)
    core.on_query("q1", Q)
    core.handle(RECORDS[offset])
    assert history.calls == [offset]


def test_bench_latency_is_measured_from_the_end_of_the_segment_that_made_a_window_due() -> None:
    from workers.bench.e2e import latencies, percentile

    ends = {"cam": [10.4, 11.4, 12.4]}
    seen = {("q", "cam", 11.0): 11.9, ("q", "cam", 12.0): 13.4, ("q", "other", 1.0): 5.0}
    assert sorted(round(x) for x in latencies(seen, ends)) == [500, 1000]
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 50) is None


def _cameras_records(cameras: Sequence[str], seqs: range) -> list[Record]:
    """Segment records of several cameras, one partition each, interleaved like a batch."""
    offsets = dict.fromkeys(cameras, 0)
    out = []
    for i in seqs:
        for p, cam in enumerate(cameras):
            out.append(record(segment(cam, i), offsets[cam], partition=p))
            offsets[cam] += 1
    return out


def test_a_batch_of_many_cameras_is_one_encoder_call_with_the_same_answers() -> None:
    cams = ("cam", "yard", "gate", "door")
    records = _cameras_records(cams, range(6))
    one_by_one = new_core()
    one_by_one.on_query("q1", Q)
    want = sorted(key(a) for r in records for a in one_by_one.handle(r))
    encoder = ColourEncoder()
    core = PerceiveCore(
        build_perceiver(
            encoder, AnswererCache(encoder), SelectionConfig(), Scheduler(), fake_decode, 2.0
        )
    )
    core.on_query("q1", Q)
    got = [
        a for i in range(0, len(records), 8) for a in core.handle_batch(records[i : i + 8]).answers
    ]
    assert sorted(key(a) for a in got) == want
    assert encoder.frame_calls == 3  # 24 segments in batches of 8: 3 calls of 16 frames
    assert core.stats.encode_calls == 3 and core.perceiver.stats.frames == 48
    assert core.owned() == sorted(cams)


def test_batch_handler_dead_letters_bad_records_with_context_and_answers_the_rest() -> None:
    encoder = ColourEncoder()
    core = PerceiveCore(
        build_perceiver(
            encoder, AnswererCache(encoder), SelectionConfig(), Scheduler(), fake_decode, 2.0
        )
    )
    core.on_query("q1", Q)
    answers, dl = RecordingProducer(), RecordingProducer()
    seen: list[dict[str, int]] = []
    handler = BatchHandler(
        core,
        answers,
        TOPICS,
        DeadLetters(dl, "dl"),
        on_encoded=lambda per_cam: seen.append({c: len(f) for c, f in per_cam.items()}),
    )
    corrupt = record(Segment("yard", 1, 1.0, 1.0, b"\x00garbage"), 1, partition=1)
    batch = [
        record(segment("cam", 0), 0, partition=0),
        record(segment("yard", 0), 0, partition=1),
        record(segment("cam", 1), 1, partition=0),
        corrupt,
        record(segment("yard", 2), 2, partition=1),
    ]
    # cam: windows ending 1, 2; yard: 1, then 2 and 3 once its clock reaches 3 (no gap)
    assert handler(batch) == 5 and encoder.frame_calls == 1
    assert answers.acked == [5]  # acknowledged before the handler returned
    (letter,) = [msg.decode_deadletter(k, v, h) for _t, k, v, h in dl.sent]
    assert (letter.error_type, letter.camera, letter.partition, letter.offset) == (
        "DecodeError",
        "yard",
        1,
        1,
    )
    assert seen == [{"cam": 4, "yard": 4}]  # the history hook: each camera's encoded frames


def test_a_query_record_in_a_batch_applies_between_the_segments_around_it() -> None:
    core = PerceiveCore(factory([]), queries_topic=TOPICS.queries)
    q_key, q_value, q_headers = msg.encode_query(Q)
    query = Record(TOPICS.queries, 0, 0, q_key, q_value, q_headers, 0.0)
    out = core.handle_batch([RECORDS[0], query, RECORDS[1], RECORDS[2]])
    assert [a.window_end for a in out.answers] == [2.0, 3.0]  # nothing asked before the query
    assert core.stats.encode_calls == 2 and not out.failed


def asking_handler() -> tuple[BatchHandler, RecordingProducer, RecordingProducer]:
    """A handler whose core asks ``Q``, with the producers of its answers and dead letters."""
    core = new_core()
    core.on_query("q1", Q)
    producer, dl = RecordingProducer(), RecordingProducer()
    return BatchHandler(core, producer, TOPICS, DeadLetters(dl, "dl")), producer, dl


def test_an_answer_that_cannot_be_encoded_is_a_dead_letter_and_the_rest_go_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, producer, dl = asking_handler()
    real = msg.encode_answer

    def unencodable_at_one_second(answer: Answer) -> msg.Message:
        if answer.window_end == 1.0:
            raise ValueError("not encodable")
        return real(answer)

    monkeypatch.setattr(msg, "encode_answer", unencodable_at_one_second)
    handler([RECORDS[0]])
    handler([RECORDS[1]])
    (letter,) = [msg.decode_deadletter(k, v, h) for _t, k, v, h in dl.sent]
    assert (letter.error_type, letter.camera, letter.stage) == ("ValueError", "cam", "answer")
    sent = [msg.decode_answer(k, v, h) for _t, k, v, h in producer.sent]
    assert [a.window_end for a in sent] == [2.0]


def test_a_batch_is_answered_in_steps_one_segment_per_camera_each() -> None:
    from workers.perception.ownership import _steps

    # each camera's segments stay in order; a step holds at most one segment per camera
    assert _steps(["a", "b", "a", "c", "a", "b"]) == [[0, 1, 3], [2, 5], [4]]
    assert _steps([]) == [] and _steps(["x"]) == [[0]]


def test_a_query_whose_answers_never_encode_is_set_aside_and_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.bus.failure_messages import decode_query_failure, is_query_failure
    from workers.perception.handler import UNSENT_SET_ASIDE

    handler, producer, dl = asking_handler()

    def never(answer: Answer) -> msg.Message:
        raise ValueError("score: Input should be a finite number")

    monkeypatch.setattr(msg, "encode_answer", never)
    for record in RECORDS[:UNSENT_SET_ASIDE + 1]:
        handler([record])
    stages = [msg.decode_deadletter(k, v, h).stage for _t, k, v, h in dl.sent]
    assert stages == ["answer"] * UNSENT_SET_ASIDE + ["query-answer"]  # then no more windows
    (report,) = [decode_query_failure(k, v, h) for _t, k, v, h in producer.sent
                 if is_query_failure(h)]
    assert report.query_id == Q.id and "finite number" in report.message


def test_a_segment_stamped_days_ahead_of_the_wall_clock_is_refused_and_the_camera_goes_on(
) -> None:
    """One forged stream time would move the camera's clock past every real segment."""
    import time

    core = new_core()
    core.on_query("q1", Q)
    ahead = Segment("cam", 99, time.time() + 3 * 86_400, 1.0, json.dumps([0.0]).encode())
    records = [*RECORDS[:4], record(ahead, offset=4),
               *(record(segment("cam", i), offset=i + 1) for i in range(4, 8))]
    out = core.handle_batch(records)
    ((bad, exc, stage),) = out.failed
    assert bad.offset == 4 and stage == "perceive" and "wall clock" in str(exc)
    assert max(a.window_end for a in out.answers) == 8.0  # the real segments after it count
