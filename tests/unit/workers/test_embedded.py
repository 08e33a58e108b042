"""The embedded run wired with fakes: bus contracts, due windows, store, dead letters."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.bus import MemoryBus, Topics
from connectors.bus import messages as msg
from connectors.store import AnswerSink, Store
from connectors.store.dead_letters import DeadLetterLog
from pipeline.perceiver import AnswererCache, build_perceiver, query_id
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Answer, Frame, Segment, StandingQuery
from tests.unit.fakes import red_frame, segment_json
from workers.perception.embedded import CameraSource, EmbeddedRun

VISIBLE = (4.0, 7.0)  # red visible for 4 <= t < 7
DURATION = 12


def fake_segments(uri: str, camera: str, **_: Any) -> Iterator[Segment]:
    """2-second segments; the value lists (t, red) per frame; uri 'broken' adds a bad one."""
    for seq, start in enumerate(range(0, DURATION, 2)):
        frames = [(t, VISIBLE[0] <= t < VISIBLE[1]) for t in (start, start + 1)]
        data = b"garbage" if uri == "broken" and seq == 2 else json.dumps(frames).encode()
        yield Segment(camera, seq, float(start), 2.0, data)


def fake_decode(segment: Segment, fps: float) -> list[Frame]:
    return [red_frame(segment.camera, t, red) for t, red in segment_json(segment)]


class TappedBus(MemoryBus):
    """The in-process bus, noting every message sent (the bus itself drops them)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.sent: dict[str, list[tuple[bytes, bytes | None, Any]]] = {}

    def append(self, topic: str, key: bytes, value: bytes | None, headers: Any) -> None:
        self.sent.setdefault(topic, []).append((key, value, list(headers)))
        super().append(topic, key, value, headers)


def make_run(
    tmp_path: Path, uri: str = "clip.mp4", answers: list[Answer] | None = None,
    bus: TappedBus | None = None, questions: int = 1,
) -> tuple[EmbeddedRun, Store, TappedBus]:
    enc = ColourEncoder()
    texts = ["a red circle"] + [f"a red circle, view {i}" for i in range(1, questions)]
    qs = [StandingQuery(query_id(text, ["cam"], 1.0, 4.0, "clip"), text, ("cam",), 1.0, 4.0,
                        "clip", {"threshold": 0.3}) for text in texts]
    perceiver = build_perceiver(
        enc, AnswererCache(enc), SelectionConfig(), Scheduler(), fake_decode, 1.0
    )
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    bus = bus or TappedBus(capacity={Topics().segments: 2})
    sink = AnswerSink(store)
    run = EmbeddedRun(
        [CameraSource("cam", uri)],
        qs,
        perceiver,
        sink,
        segments=fake_segments,
        bus=bus,
        on_answer=(answers.append if answers is not None else lambda a: None),
    )
    return run, store, bus


def overlaps(a: Answer) -> bool:
    return a.window_start < VISIBLE[1] and a.window_end > VISIBLE[0]


def test_answers_follow_the_object_and_land_in_the_store(tmp_path: Path) -> None:
    got: list[Answer] = []
    run, store, bus = make_run(tmp_path, answers=got)
    stats = run.run()
    assert [a.window_end for a in got] == [float(e) for e in range(1, DURATION + 1)]
    assert all(a.matched == overlaps(a) for a in got), [(a.window_end, a.matched) for a in got]
    assert stats.frames == DURATION and stats.dead_letters == 0
    assert store.count_answers() == DURATION
    assert len(store.evidence(got[5].query_id, "cam", got[5].window_end)) == len(got[5].frames)
    # the bus carried the Kafka contracts
    segs = [msg.decode_segment(k, v, h) for k, v, h in bus.sent[Topics().segments]]
    assert [s.seq for s in segs] == list(range(DURATION // 2))
    answers = [msg.decode_answer(k, v, h) for k, v, h in bus.sent[Topics().answers]]
    assert answers == got
    # and dropped each record once both groups had committed it: memory stays bounded
    assert bus.retained(Topics().segments) == 0 and bus.retained(Topics().answers) == 0


class WaitNotingBus(TappedBus):
    """Notes how long the loop's polls waited after the source had ended."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.waits_after_end: list[float] = []

    def wait(self, timeout: float) -> bool:
        ended, t0 = self.wakes > 0, time.monotonic()
        try:
            return super().wait(timeout)
        finally:
            if ended and threading.current_thread() is threading.main_thread():
                self.waits_after_end.append(time.monotonic() - t0)


def test_a_file_run_ends_when_its_sources_do_without_waiting_out_a_poll(tmp_path: Path) -> None:
    bus = WaitNotingBus(capacity={Topics().segments: 2})
    run, store, _ = make_run(tmp_path, bus=bus)
    run.run()
    assert store.count_answers() == DURATION  # every segment was handled
    assert bus.wakes == 1  # the one source woke the loop as it ended
    assert bus.waits_after_end == []  # and no poll waited once it had


def test_a_turn_answering_more_than_one_write_holds_stores_every_answer(tmp_path: Path) -> None:
    """300 questions: each 2-s segment makes 600 answers, more than the 500 rows of one
    write; the run stored 500 a turn and ended with the rest left on the bus."""
    run, store, bus = make_run(tmp_path, questions=300)
    stats = run.run()
    assert stats.answers == store.count_answers() == 300 * DURATION
    assert run.sink.written == 300 * DURATION and bus.retained(Topics().answers) == 0


def test_running_again_adds_no_rows(tmp_path: Path) -> None:
    make_run(tmp_path)[0].run()
    run, store, _ = make_run(tmp_path)
    run.run()
    assert store.count_answers() == DURATION


def test_a_bad_segment_is_a_dead_letter_not_a_dead_run(tmp_path: Path) -> None:
    got: list[Answer] = []
    run, store, bus = make_run(tmp_path, uri="broken", answers=got)
    stats = run.run()
    assert stats.dead_letters == 1
    (dl,) = [msg.decode_deadletter(*sent) for sent in bus.sent[Topics().deadletter]]
    assert (dl.camera, dl.stage, dl.error_type, dl.offset) == ("cam", "perceive", "DecodeError", 2)
    assert got and got[-1].window_end == DURATION  # later segments still answered
    (kept,) = DeadLetterLog(store.engine).read()  # and kept in the store, where it outlives the run
    assert (kept.camera, kept.stage, kept.error_type, kept.topic, kept.offset) == (
        "cam", "perceive", "DecodeError", Topics().segments, 2)
    assert kept.message == dl.error_message and kept.value_bytes == len(dl.value or b"")


def test_query_ids_are_stable_and_distinct() -> None:
    a = query_id("a red  circle", ["b", "a"], 1.0, 4.0, "clip")
    assert a == query_id("a red circle", ["a", "b"], 1.0, 4.0, "clip")
    assert a != query_id("a red circle", ["a"], 1.0, 4.0, "clip")
    assert a != query_id("a blue circle", ["a", "b"], 1.0, 4.0, "clip")


def test_source_failure_is_reported_naming_its_camera_once(tmp_path: Path, caplog) -> None:
    from pipeline.errors import SourceError

    run, _, _ = make_run(tmp_path)

    def failing(uri: str, camera: str, **_: Any) -> Iterator[Segment]:
        raise SourceError("camera 'cam': cannot open rtsp://nowhere")  # as the sources word it
        yield  # pragma: no cover

    run.segments = failing
    with caplog.at_level("ERROR", logger="workers.perception.embedded"):
        run.run()
    assert isinstance(run.errors["cam"], SourceError)
    assert [r.getMessage() for r in caplog.records] == ["camera cam: cannot open rtsp://nowhere"]


def test_two_cameras_each_get_their_own_windows(tmp_path: Path) -> None:
    got: list[Answer] = []
    run, store, _ = make_run(tmp_path, answers=got)
    run.cameras = [CameraSource("cam", "a.mp4"), CameraSource("yard", "b.mp4")]
    q = run.queries[0]
    run.queries = [StandingQuery(q.id, q.question, ("*",), 1.0, 4.0, "clip", q.settings)]
    run.run()
    for cam in ("cam", "yard"):
        mine = [a for a in got if a.camera == cam]
        assert [a.window_end for a in mine] == [float(e) for e in range(1, DURATION + 1)]
        assert all(a.matched == overlaps(a) for a in mine)
    assert store.count_answers() == 2 * DURATION


def test_segments_of_several_cameras_share_one_encoder_call(tmp_path: Path) -> None:
    run, _, bus = make_run(tmp_path)
    producer = bus.producer()
    segments = [next(fake_segments("x.mp4", cam)) for cam in ("cam", "yard", "gate")]
    segments.insert(1, Segment("door", 0, 0.0, 2.0, b"garbage"))
    for seg in segments:
        producer.send(Topics().segments, *msg.encode_segment(seg))
    records = bus.consumer([Topics().segments], "test").poll(max_records=10)
    encoded: list[dict[str, int]] = []
    run.on_encoded = lambda per_camera: encoded.append({c: len(f) for c, f in per_camera.items()})
    run.app(producer).perceive(records)
    assert encoded == [{"cam": 2, "yard": 2, "gate": 2}]  # the history hook: once per batch
    enc = run.perceiver.encoder
    assert isinstance(enc, ColourEncoder) and enc.frame_calls == 1  # 3 segments, 6 frames
    stats = run.perceiver.stats
    assert (stats.segments, stats.frames, stats.dead_letters) == (3, 6, 1)  # bad one: alone
    assert set(stats.stream_time) == {"cam", "yard", "gate"}


def test_ctrl_c_stores_what_was_answered_and_hands_the_interrupt_back(tmp_path: Path) -> None:
    """Ctrl-C part-way: the run returns its stats with the interrupt noted (for the command
    to print its summary, then exit 130), and every answer already on the bus is stored."""
    run, store, bus = make_run(tmp_path)

    def interrupt(segment: Segment) -> None:
        if segment.seq == 3:
            raise KeyboardInterrupt

    run.on_segment = interrupt
    stats = run.run()
    assert isinstance(run.interrupted, KeyboardInterrupt)
    sent = len(bus.sent[Topics().answers])
    assert 0 < sent < DURATION
    assert store.count_answers() == sent == stats.answers
    assert bus.retained(Topics().answers) == 0
