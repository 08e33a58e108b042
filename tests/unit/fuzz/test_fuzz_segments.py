"""Hostile segments: a one-line DecodeError naming camera and seq, or a dead letter.

The decoder is the real one (PyAV); the worker path is the real
``BatchHandler`` → ``PerceiveCore`` → ``Perceiver`` with a colour encoder, writing
dead letters through the in-memory bus (the Kafka run of the same corpus is in
``tests/integration/test_soak.py``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors import video
from connectors.bus import MemoryBus, Topics
from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.store.dead_letters import DeadLetterLog
from pipeline.errors import DecodeError
from pipeline.perceiver import AnswererCache, Perceiver, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Segment, StandingQuery
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore
from workers.soak import fuzz as soak_fuzz

pytestmark = pytest.mark.timeout(60)

PAYLOADS = soak_fuzz.bad_segment_payloads()
VALID = soak_fuzz.valid_ts()


def _segment(data: bytes, seq: int = 7, container: str = "mpegts") -> Segment:
    return Segment("cam-fuzz", seq, 100.0 + seq, 1.0, data, container=container)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_bad_segment_is_one_line_decode_error_naming_camera_and_seq(name: str) -> None:
    container, data = PAYLOADS[name]
    with pytest.raises(DecodeError) as info:
        video.decode_segment(_segment(data, 41, container), 2.0)
    text = str(info.value)
    assert "\n" not in text
    assert "'cam-fuzz'" in text and "segment 41" in text


def test_unsupported_codec_and_8k_say_why() -> None:
    _, mkv = PAYLOADS["unsupported-codec"]
    with pytest.raises(DecodeError, match="codec 'ffv1' not accepted"):
        video.decode_segment(_segment(mkv, container="matroska"), 1.0)
    _, big = PAYLOADS["8k-frame"]
    with pytest.raises(DecodeError, match="7680x4320 exceeds"):
        video.decode_segment(_segment(big), 1.0)


def test_the_valid_segment_decodes() -> None:
    """The fuzz corpus is made from a segment the decoder accepts (the tests can fail)."""
    frames = video.decode_segment(_segment(VALID), 4.0)
    assert frames and frames[0].rgb.shape == (96, 160, 3)


def _decode_or_error(data: bytes) -> None:
    try:
        video.decode_segment(_segment(data), 4.0)
    except DecodeError as exc:
        assert "\n" not in str(exc)


def test_every_truncation_of_a_valid_segment_decodes_or_is_a_decode_error() -> None:
    for cut in range(0, len(VALID), 47):
        _decode_or_error(VALID[:cut])


def test_bit_flipped_segments_decode_or_are_decode_errors() -> None:
    rng = random.Random(11)
    for _ in range(60):
        data = bytearray(VALID)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        _decode_or_error(bytes(data))


TOPICS = Topics.with_prefix("fz.")
QUERY = StandingQuery("q1", "a red circle", ("*",), every=1.0, window=2.0, answerer="clip")
ENCODER = ColourEncoder()


def _factory(queries: Iterable[StandingQuery]) -> Perceiver:
    return build_perceiver(
        ENCODER,
        AnswererCache(ENCODER),
        SelectionConfig(),
        Scheduler(list(queries)),
        video.decode_segment,
        2.0,
    )


def _records(segments: list[Segment]) -> list[Record]:
    out = []
    for offset, seg in enumerate(segments):
        key, value, headers = msg.encode_segment(seg)
        out.append(Record(TOPICS.segments, 0, offset, key, value, headers, timestamp=seg.end))
    return out


def test_worker_turns_each_bad_segment_into_one_dead_letter_and_goes_on() -> None:
    good = [Segment("cam-fuzz", i, float(i), 1.0, VALID) for i in range(3)]
    bad = soak_fuzz.bad_segments("cam-fuzz", 100, start=3.0)
    bus = MemoryBus()
    core = PerceiveCore(_factory([]))
    core.on_query("q1", QUERY)
    handler = BatchHandler(
        core, bus.producer(), TOPICS, DeadLetters(bus.producer(), TOPICS.deadletter)
    )
    late = [Segment("cam-fuzz", 200 + i, 10.0 + i, 1.0, VALID) for i in range(3)]
    produced = [handler([r]) for r in _records(good + bad + late)]
    records = bus.messages(TOPICS.deadletter)
    letters = [msg.decode_deadletter(r.key, r.value, r.headers) for r in records]
    assert [d.offset for d in letters] == list(range(3, 3 + len(bad)))
    assert all(d.camera == "cam-fuzz" for d in letters)
    # a zero-length value is refused by the message contract, the rest by the decoder
    assert [d.error_type for d in letters] == ["MessageError"] + ["DecodeError"] * (len(bad) - 1)
    assert sum(produced[len(good) + len(bad) :]) > 0, "the camera answers after the bad input"


def test_embedded_run_dead_letters_the_corpus_and_keeps_answering(tmp_path: Path) -> None:
    from connectors.store import AnswerSink, Store
    from workers.perception.embedded import CameraSource, EmbeddedRun

    def feed(uri: str, camera: str, **_: Any) -> Iterator[Segment]:
        yield from (Segment(camera, i, float(i), 1.0, VALID) for i in range(3))
        yield from soak_fuzz.bad_segments(camera, 100, start=3.0)
        yield from (Segment(camera, 200 + i, 10.0 + i, 1.0, VALID) for i in range(3))

    store = Store.from_url(f"sqlite:///{tmp_path / 'fz.db'}")
    query = StandingQuery(
        "q1", "a red circle", ("cam-fuzz",), every=1.0, window=2.0, answerer="clip"
    )
    bus = MemoryBus()
    run = EmbeddedRun(
        [CameraSource("cam-fuzz", "fuzz")],
        [query],
        _factory([]),
        AnswerSink(store),
        segments=feed,
        bus=bus,
    )
    stats = run.run()
    assert stats.dead_letters == len(soak_fuzz.bad_segment_payloads())
    assert len(DeadLetterLog(store.engine).read(limit=1000)) == stats.dead_letters
    ends = sorted(a.window_end for a in store.answers(query_id="q1"))
    assert ends and ends[-1] >= 12.0, ends
    store.close()
