"""Dead letters kept in SQL: once per place on the topic, hostile text made storable, the
newest kept, read back by time, stage and camera; and the consumer that stores them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.retry import RetryPolicy
from connectors.store import Store
from connectors.store.dead_letters import DeadLetterLog, Placed
from workers.cli.main import cli
from workers.deadletters_consumer import DeadLettersConsumer

ONCE = RetryPolicy(attempts=1)


def _letter(stage: str = "perceive", camera: str = "cam", error: str = "not a video",
            value: bytes | None = b"x" * 10, key: bytes = b"cam") -> msg.DeadLetter:
    m = msg.encode_deadletter((key, value, [("camera", camera.encode())]), ValueError(error),
                              stage=stage, topic="feedwatch.segments", camera=camera,
                              partition=0, offset=7)
    return msg.decode_deadletter(m.key, m.value, m.headers)


def _record(offset: int, at: float, **kw: object) -> Record:
    m = msg.encode_deadletter((b"cam", b"v", []), ValueError(str(kw.get("error", "bad"))),
                              stage=str(kw.get("stage", "perceive")), topic="feedwatch.segments",
                              camera=str(kw.get("camera", "cam")), partition=0, offset=offset)
    return Record("feedwatch.deadletter", 0, offset, m.key, m.value, list(m.headers), at)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")


def test_a_dead_letter_is_kept_once_with_where_and_why(store: Store) -> None:
    book = DeadLetterLog(store.engine)
    placed = Placed(0, 3, 1000.0, _letter())
    assert book.record([placed]) == 1
    assert book.record([placed]) == 0  # redelivered: its place on the topic is taken
    (e,) = book.read()
    assert (e.stage, e.camera, e.topic, e.partition, e.offset) == (
        "perceive", "cam", "feedwatch.segments", 0, 7)
    assert (e.error_type, e.message, e.key, e.value_bytes, e.at) == (
        "ValueError", "not a video", "cam", 10, 1000.0)


def test_hostile_text_is_made_storable_and_a_missing_value_has_no_size(store: Store) -> None:
    book = DeadLetterLog(store.engine)
    letter = _letter(camera="c\x00" + "a" * 500, error="bad\x00" + "é" * 999, value=None,
                     key=b"\xff\x00k")
    book.record([Placed(0, 1, 1.0, letter)])
    (e,) = book.read()
    assert "\x00" not in e.camera + e.message + e.key
    assert len(e.camera) == 200 and len(e.message) <= 1000 and e.value_bytes is None


def test_the_newest_are_kept_and_read_by_time_stage_and_camera(store: Store) -> None:
    book = DeadLetterLog(store.engine, keep=5)
    letters = [Placed(0, i, 100.0 + i, _letter(stage="sink" if i % 2 else "perceive",
                                               camera=f"cam{i % 3}")) for i in range(8)]
    book.record(letters[:4])
    book.record(letters[4:])
    kept = book.read(limit=100)
    assert [e.at for e in kept] == [107.0, 106.0, 105.0, 104.0, 103.0]  # newest first, 5 kept
    assert [e.at for e in book.read(since=104.0, until=106.0)] == [105.0, 104.0]
    assert {e.stage for e in book.read(stage="sink")} == {"sink"}
    assert [e.at for e in book.read(camera="cam1")] == [107.0, 104.0]
    assert book.counts() == {"sink": 3, "perceive": 2}
    assert book.counts(since=106.0) == {"sink": 1, "perceive": 1}


def test_the_consumer_stores_dead_letters_and_skips_what_is_not_one(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    consumer = DeadLettersConsumer(DeadLetterLog(store.engine), retry=ONCE)
    stranger = Record("feedwatch.deadletter", 0, 2, b"k", b"typed by hand", [], 5.0)
    batch = [_record(0, 1.0), _record(1, 2.0, stage="sink"), stranger]
    with caplog.at_level(logging.WARNING):
        assert consumer(batch) == 2
        assert consumer(batch) == 0  # the batch again: nothing new
    assert consumer.stored == 2 and consumer.skipped == 2
    assert "feedwatch.deadletter[0]@2 is not a dead letter" in caplog.text


def test_the_cli_lists_them_newest_first(store: Store, tmp_path: Path) -> None:
    DeadLetterLog(store.engine).record(
        [Placed(0, i, 1_700_000_000.0 + i, _letter(stage=s)) for i, s in
         enumerate(["perceive", "sink", "perceive"])])
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    runner = CliRunner()
    out = runner.invoke(cli, ["deadletters", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["at"] for r in rows] == [1_700_000_002.0, 1_700_000_001.0, 1_700_000_000.0]
    assert "dead letters by stage: 2 perceive, 1 sink" in out.stderr
    out = runner.invoke(cli, ["deadletters", "--db", url, "--stage", "sink"])
    assert out.exit_code == 0 and "1 dead letters" in out.stdout and "not a video" in out.stdout
    bad = runner.invoke(cli, ["deadletters", "--db", url, "--since", "100", "--until", "50"])
    assert bad.exit_code != 0 and "--until" in str(bad.exception)
