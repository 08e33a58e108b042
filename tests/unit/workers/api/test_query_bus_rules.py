"""The bus takes the queries the API takes and no others (issue 26): one set of rules
(pipeline.query_rules) for both, so a query message the API would refuse is a dead
letter at the consumer, never a query every worker fails on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from connectors.bus.deadletter import ONCE, DeadLetters
from connectors.bus.failure_messages import QueryError, decode_query_failure
from connectors.bus.memory import MemoryBus
from pipeline.errors import ConfigError, MessageError
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness
from workers.perception.app import PerceptionApp

TOPICS = Topics.with_prefix("t.")
VALID: dict[str, Any] = {"question": "a red circle", "cameras": ["*"], "every": 1.0,
                         "window": 4.0, "answerer": "clip", "settings": {}}
DEEP: dict[str, Any] = {}
_inner = DEEP
for _ in range(50):
    _inner["a"] = {}
    _inner = _inner["a"]

REFUSED = {
    "tiny every": {"every": 1e-300},
    "every below the shared minimum": {"every": 0.1, "window": 1.0},
    "week-long window": {"window": 7 * 86400.0},
    "unknown setting value": {"settings": {"mode": "bogus"}},
    "operator setting": {"settings": {"model": "/etc", "device": "cuda:7"}},
    "another answerer's setting": {"settings": {"prompt": "{question}"}},
    "deep settings": {"settings": DEEP},
    "bad camera id": {"cameras": ["../etc"]},
    "unknown answerer": {"answerer": "oracle"},
}


def _message(changes: dict[str, Any]) -> bytes:
    return json.dumps({"schema": 1, "id": "q1", "version": 1, **VALID, **changes}).encode()


def _post(h: ApiHarness, body: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"}
    return h._client.post("/api/queries", content=json.dumps(body), headers=headers).status_code


@pytest.mark.parametrize("changes", REFUSED.values(), ids=REFUSED.keys())
def test_a_message_the_api_refuses_the_bus_refuses(
    harness: ApiHarness, changes: dict[str, Any]
) -> None:
    harness.store.upsert_camera("door")
    assert _post(harness, {**VALID, **changes}) in (409, 422)
    assert harness.call("GET", "/api/queries", READ).json() == []
    with pytest.raises(MessageError):
        msg.decode_query(b"q1", _message(changes))


def test_the_consumer_dead_letters_a_refused_query_and_keeps_the_valid_one() -> None:
    bus = MemoryBus()
    encoder = ColourEncoder()
    perceiver = build_perceiver(encoder, AnswererCache(encoder), SelectionConfig(),
                                Scheduler(), lambda segment, fps: [], 1.0)
    deadletters = DeadLetters(bus.producer(), TOPICS.deadletter, retry=ONCE)
    app = PerceptionApp.assemble(perceiver, bus, TOPICS, None, live=False,
                                 deadletters=deadletters)
    records = [
        Record(TOPICS.queries, 0, i, qid.encode(), _message({"id": qid, **changes}), [], 0.0)
        for i, (qid, changes) in enumerate([("bad", {"every": 1e-300}), ("good", {})])
    ]
    assert [app.apply_query(r) for r in records] == [False, True]
    assert [q.id for q in perceiver.scheduler.queries] == ["good"]
    [letter] = bus.messages(TOPICS.deadletter)
    dead = msg.decode_deadletter(letter.key, letter.value, letter.headers)
    assert (dead.key, dead.stage) == (b"bad", "queries")
    assert "every" in dead.error_message
    [report] = bus.messages(TOPICS.answers)  # so the stored query shows failed, and why
    error = decode_query_failure(report.key, report.value, report.headers)
    assert (error.query_id, error.version, error.stage) == ("bad", 1, "query-message")
    assert "every" in error.message


@pytest.mark.parametrize(("key", "value"), [
    (b"\xff", b'{"version": 1}'), (b"q", None), (b"q", b"[1]"), (b"q", b'{"version": true}'),
    (b"q", b'{"version": 0}'), (b"", b'{"version": 1}'), (b"q" * 201, b'{"version": 1}'),
    (b"q", b"{"),
])
def test_a_refused_message_reports_only_when_its_query_and_version_can_be_read(
        key: bytes, value: bytes | None) -> None:
    assert QueryError.of_refused(key, value, MessageError("no"), 0.0) is None
    assert QueryError.of_refused(b"q", b'{"version": 3}', MessageError("no"), 0.0) is not None


@pytest.mark.parametrize(
    ("every", "window", "pairs", "named"),
    [
        ("0.1", "4s", [], "--every"),
        ("1s", "7d", [], "--window"),
        ("1s", "4s", ["device=cuda:7"], "--set.device"),
        ("1s", "4s", ["mode=bogus"], "--set.mode"),
    ],
)
def test_feedwatch_run_takes_the_same_bounds(
    tmp_path: Path, every: str, window: str, pairs: list[str], named: str
) -> None:
    from workers.cli.run_request import answerer_settings, validate

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00")
    with pytest.raises(ConfigError) as refused:
        validate([str(clip)], ["q"], [], every, window, "clip", False, False)
        answerer_settings(pairs, "clip")
    assert refused.value.field == named
