"""A query set aside by the workers shows ``failed`` with its error, through the API and
the CLI, in the store the answers consumer writes (both modes store through it); a new
version of the query clears it, and a late report of an older version does not bring it
back (issue 26)."""

from __future__ import annotations

import json

import pytest

from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.store import AnswerSink, Store
from pipeline.types import StandingQuery
from tests.unit.fakes import RecordingProducer
from tests.unit.workers.api.scenarios import READ, ApiHarness
from tests.unit.workers.test_query_isolation import (  # noqa: F401 - boom_registered: autouse
    BOOM,
    GOOD,
    NO_BUILD,
    TOPICS,
    _handler,
    _records,
    boom_registered,
)
from workers.answers_consumer import AnswersConsumer
from workers.cli.main import main


def consume(store: Store, producer: RecordingProducer) -> RecordingProducer:
    """What a perceive worker sent on the answers topic, through the answers consumer."""
    records = [Record(t, 0, i, k, v, h, 0.0) for i, (t, k, v, h) in enumerate(producer.sent)]
    dead = RecordingProducer()
    AnswersConsumer(AnswerSink(store), DeadLetters(dead, "dl"))(records)
    return dead


def get(harness: ApiHarness, query_id: str) -> dict:
    resp = harness.call("GET", f"/api/queries/{query_id}", READ)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_failed_queries_show_their_error_until_a_new_version(
    harness: ApiHarness, sqlite_store: Store
) -> None:
    for q in (GOOD, BOOM, NO_BUILD):
        sqlite_store.upsert_query(q)
    handler, answers, _ = _handler()
    handler(_records([GOOD, NO_BUILD, BOOM], 4))
    assert consume(sqlite_store, answers).sent == []  # every record stored, none refused

    boom, no_build, good = get(harness, "boom"), get(harness, "no-build"), get(harness, "good")
    assert (good["status"], good["error"]) == ("active", None)
    assert boom["status"] == "failed" and no_build["status"] == "failed"
    error = boom["error"]
    assert (error["stage"], error["version"], error["error_type"]) == (
        "query-answer", 1, "RuntimeError")
    assert error["camera"] in ("dock", "yard") and error["message"] == "the model fell over"
    assert error["at"] > 1.7e9
    assert (no_build["error"]["stage"], no_build["error"]["camera"]) == ("query-build", "")
    listed = harness.call("GET", "/api/queries", READ).json()
    assert {q["id"]: q["status"] for q in listed} == {
        "good": "active", "boom": "failed", "no-build": "failed"}

    changed = harness.call("PATCH", "/api/queries/boom", json={"window": 3.0})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["status"]) == (2, "active")
    consume(sqlite_store, answers)  # the version-1 report again (redelivery): still active
    assert get(harness, "boom")["status"] == "active"

    boom_v2 = next(q for q in sqlite_store.queries() if q.id == "boom")
    handler(_records([boom_v2], 4, first=4))  # version 2 fails too
    consume(sqlite_store, answers)
    again = get(harness, "boom")
    assert (again["status"], again["error"]["version"]) == ("failed", 2)


def test_the_cli_lists_and_shows_the_status(
    sqlite_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    for q in (GOOD, BOOM):
        sqlite_store.upsert_query(q)
    handler, answers, _ = _handler()
    handler(_records([GOOD, BOOM], 4))
    consume(sqlite_store, answers)
    db = ["--db", str(sqlite_store.engine.url)]
    assert main(["queries", "show", "boom", *db]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "failed" and shown["error"]["stage"] == "query-answer"
    assert main(["queries", "list", *db]) == 0
    text = capsys.readouterr().out
    assert "good  active" in text and "boom  failed" in text
    assert "query-answer: the model fell over" in text
    assert main(["queries", "list", "--json", *db]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(q["id"], q["status"]) for q in lines] == [("good", "active"), ("boom", "failed")]
    sqlite_store.delete_query("boom")  # an id used again starts clean
    sqlite_store.upsert_query(BOOM)
    assert main(["queries", "show", "boom", *db]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "active"


def test_a_query_whose_message_is_refused_shows_failed_with_why(
    harness: ApiHarness, sqlite_store: Store
) -> None:
    """A query stored with an id made before the id rule: its message is a dead letter
    on every worker, and the query the store lists says so instead of going silent."""
    legacy = StandingQuery("Exit blocked?", "is the exit blocked?", ("*",), 1.0, 4.0)
    sqlite_store.upsert_query(legacy)
    sqlite_store.upsert_query(GOOD)
    value = json.dumps({"schema": 1, "id": legacy.id, "version": 1, "question": legacy.question,
                        "cameras": ["*"], "every": 1.0, "window": 4.0, "answerer": "clip",
                        "settings": {}}).encode()
    refused = Record(TOPICS.queries, 0, 0, legacy.id.encode(), value, [], 0.0)
    tombstone = Record(TOPICS.queries, 0, 1, b"gone?", None, [], 0.0)
    handler, answers, dead = _handler()
    handler([refused, tombstone, *_records([GOOD], 3)[1:]])
    assert [key for _, key, _, _ in dead.sent] == [b"Exit blocked?"]  # a tombstone removes
    assert consume(sqlite_store, answers).sent == []
    listed = {q["id"]: q for q in harness.call("GET", "/api/queries", READ).json()}
    assert listed["good"]["status"] == "active"
    failed = listed["Exit blocked?"]
    assert failed["status"] == "failed" and failed["error"]["stage"] == "query-message"
    assert failed["error"]["version"] == 1 and "id" in failed["error"]["message"]
