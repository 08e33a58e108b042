"""Decoding the next batch while the current one is encoded: order, errors, shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from connectors.bus import MemoryBus, Topics
from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.store.dead_letters import DeadLetterLog
from pipeline.errors import DecodeError
from pipeline.types import Answer, Frame, Segment
from tests.unit.workers.test_embedded import fake_decode, fake_segments, make_run
from workers.perception.prefetch import DecodeAhead, Decoded, decode_record

TOPIC = Topics().segments


def records_of(segments: list[Segment]) -> list[Record]:
    bus = MemoryBus()
    producer = bus.producer()
    for seg in segments:
        producer.send(TOPIC, *msg.encode_segment(seg))
    return bus.consumer([TOPIC], "test").poll(max_records=100)


def cam_segments(camera: str = "cam") -> list[Segment]:
    return list(fake_segments("x.mp4", camera))


def decode_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("decode-ahead")]


def test_batches_are_decoded_in_record_order_one_after_the_other() -> None:
    seen: list[tuple[str, int]] = []

    def frames_of(segment: Segment) -> list[Frame]:
        seen.append((segment.camera, segment.seq))
        return fake_decode(segment, 1.0)

    segs = [s for pair in zip(cam_segments("a"), cam_segments("b"), strict=True) for s in pair]
    first, second = records_of(segs[:6]), records_of(segs[6:])
    ahead = DecodeAhead(lambda r: decode_record(r, frames_of))
    try:
        ahead.submit(first)
        got = ahead.take(first)
        ahead.submit(second)
        got2 = ahead.take(second)
    finally:
        ahead.close()
    assert got is not None and got2 is not None
    assert [d.take_segment() for d in got + got2 if d] == segs
    assert [[f.t for f in d.take_frames()] for d in got if d] == \
        [[s.start, s.start + 1] for s in segs[:6]]
    assert seen == [(s.camera, s.seq) for s in segs]  # one thread, record order


def test_a_bad_segment_raises_for_itself_alone() -> None:
    segs = cam_segments()[:3]

    def frames_of(segment: Segment) -> list[Frame]:
        if segment.seq == 1:
            raise DecodeError(segment.camera, segment.seq, "decode failed: bad")
        return fake_decode(segment, 1.0)

    records = records_of(segs)
    records.insert(2, Record(TOPIC, 0, 99, b"cam", b"not a segment", [], 0.0))
    ahead = DecodeAhead(lambda r: decode_record(r, frames_of))
    ahead.submit(records)
    got = ahead.take(records)
    ahead.close()
    assert got is not None and all(isinstance(d, Decoded) for d in got)
    good, bad, garbage, last = got  # type: ignore[misc]
    assert [f.t for f in good.take_frames()] == [0.0, 1.0]
    assert bad.take_segment().seq == 1
    for outcome, error in ((bad.take_frames, DecodeError), (garbage.take_segment, Exception)):
        try:
            outcome()
        except error:
            pass
        else:  # pragma: no cover - the assertion
            raise AssertionError("the record's own error was not raised")
    assert [f.t for f in last.take_frames()] == [4.0, 5.0]


def test_another_batch_than_the_one_submitted_is_decoded_inline() -> None:
    records = records_of(cam_segments())
    ahead = DecodeAhead(lambda r: decode_record(r, lambda s: fake_decode(s, 1.0)))
    ahead.submit(records[:3])
    assert ahead.take(records[3:]) is None
    assert ahead.take(records[:3]) is None  # taken (and dropped) once
    ahead.close()


def test_close_with_a_batch_in_flight_finishes_it_and_ends_the_thread() -> None:
    started, release = threading.Event(), threading.Event()

    def slow(segment: Segment) -> list[Frame]:
        started.set()
        release.wait(5)
        return fake_decode(segment, 1.0)

    ahead = DecodeAhead(lambda r: decode_record(r, slow))
    ahead.submit(records_of(cam_segments()[:2]))
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    t0 = time.monotonic()
    ahead.close()
    assert time.monotonic() - t0 < 4.0
    assert not decode_ahead_threads()
    ahead.submit(records_of(cam_segments()[:1]))  # closed: nothing starts again
    assert not decode_ahead_threads()
    ahead.close()


def test_query_records_and_empty_batches_start_no_thread() -> None:
    ahead = DecodeAhead(lambda r: decode_record(r, lambda s: []), is_segment=lambda r: False)
    ahead.submit(records_of(cam_segments()[:2]))
    ahead.submit([])
    assert ahead.take([]) is None and ahead._pool is None  # noqa: SLF001
    ahead.close()


def test_the_embedded_run_decodes_ahead_and_keeps_order_and_dead_letters(
    tmp_path: Path,
) -> None:
    got: list[Answer] = []
    run, store, bus = make_run(tmp_path, uri="broken", answers=got)
    assert not run.look_ahead  # a CPU encoder (the fake): no decoding beside it
    run.look_ahead = True  # as with a GPU encoder
    bus.capacity[TOPIC] = 8  # the whole clip is there: every batch after the first ahead
    decoded_in: set[str] = set()
    decode = run.perceiver.decode

    def noting(segment: Segment, fps: float) -> list[Frame]:
        decoded_in.add(threading.current_thread().name)
        return decode(segment, fps)

    run.perceiver.decode = noting
    stats = run.run()
    assert any(name.startswith("decode-ahead") for name in decoded_in)
    assert [a.window_end for a in got] == sorted(a.window_end for a in got)
    assert got[-1].window_end == 12.0 and stats.segments == 5
    (dl,) = DeadLetterLog(store.engine).read()  # the run's sink kept it
    assert (dl.camera, dl.stage, dl.error_type, dl.offset) == ("cam", "perceive", "DecodeError", 2)
    assert store.count_answers() == len(got) and not decode_ahead_threads()


def test_commit_through_leaves_the_batch_ahead_uncommitted() -> None:
    bus = MemoryBus()
    producer = bus.producer()
    for seg in cam_segments()[:4]:
        producer.send(TOPIC, *msg.encode_segment(seg))
    consumer = bus.consumer([TOPIC], "perceive")
    handled = consumer.poll(max_records=2)
    consumer.poll(max_records=2)  # polled ahead, not handled yet
    consumer.commit_through(handled)
    again = bus.consumer([TOPIC], "perceive").poll(max_records=10)
    assert [r.offset for r in again] == [2, 3]


def test_only_an_encoder_off_the_cpu_gets_decoding_beside_it() -> None:
    from types import SimpleNamespace

    from workers.perception.embedded import decodes_ahead

    def on(device: str | None) -> object:
        return SimpleNamespace(encoder=SimpleNamespace() if device is None
                               else SimpleNamespace(device=device))

    assert decodes_ahead(on("cuda")) and decodes_ahead(on("mps"))  # type: ignore[arg-type]
    assert not decodes_ahead(on("cpu")) and not decodes_ahead(on(None))  # type: ignore[arg-type]
