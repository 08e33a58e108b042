"""Issue 26 on a real PostgreSQL: migrations 0008 and 0010 seal the plaintext secrets
and Slack URLs an older version stored (and refuse without a key, changing nothing);
the answers consumer
dead-letters the answer PostgreSQL refuses (a NUL in text) and stores the rest; query
failures are recorded and read back by version."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.bus.failure_messages import QueryError
from connectors.store import AnswerSink, Store, current_revision, make_engine, upgrade
from connectors.store.query_failures import QueryFailures
from connectors.store.secret_box import PREFIX, SecretBox, new_key
from pipeline.errors import ConfigError
from pipeline.types import Answer, StandingQuery
from tests.unit.fakes import RecordingProducer
from workers.answers_consumer import AnswersConsumer

pytestmark = pytest.mark.integration
SLACK = "https://hooks.slack.com/services/T0/B0/pgTOKEN"


def test_0008_and_0010_seal_plaintext_secrets_or_refuse_without_a_key(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)
    engine = make_engine(fresh_postgres_url)
    upgrade(engine, "0007_incident_clips")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO hooks (id, name, type, url, secret, enabled, created_at)"
                             " VALUES ('h1', '', 'webhook', 'http://x/', 'pg-plain', true, 0),"
                             " ('s1', '', 'slack', :slack, NULL, true, 0)"), {"slack": SLACK})
    with pytest.raises(ConfigError, match="hook:h1") as refused:
        upgrade(engine)
    assert "hook-url" not in str(refused.value)  # 0008 stops first; URLs are 0010's
    assert current_revision(engine) == "0007_incident_clips"
    assert not sa.inspect(engine).has_table("query_failures")
    box = SecretBox([new_key().encode()])
    upgrade(engine, "0009_backfill_jobs", secret_box=box)
    with pytest.raises(ConfigError, match="hook-url:s1") as refused:
        upgrade(engine)
    assert SLACK not in str(refused.value) and current_revision(engine) == "0009_backfill_jobs"
    upgrade(engine, secret_box=box)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT secret FROM hooks WHERE id = 'h1'")).scalar_one()
        url = conn.execute(sa.text("SELECT url FROM hooks WHERE id = 's1'")).scalar_one()
    assert stored.startswith(PREFIX) and "pg-plain" not in stored
    assert box.open(stored) == "pg-plain"
    assert url.startswith(PREFIX) and box.open(url) == SLACK
    engine.dispose()


def answer(t: float, text: str) -> Answer:
    return Answer("q", "a red circle?", "dock", t, t + 2.0, t + 2.5, "clip", text, True, 0.3,
                  (t + 1.0,), ((0.0, 0.0, 1.0, 1.0),), 10, 5.0)


def test_a_refused_answer_is_a_dead_letter_and_failures_are_kept_by_version(
    fresh_postgres_url: str,
) -> None:
    store = Store.from_url(fresh_postgres_url)
    batch = [answer(0.0, "yes"), answer(2.0, "y\x00es"), answer(4.0, "no")]
    records = [Record("t.answers", 0, i, *msg.encode_answer(a), 0.0) for i, a in enumerate(batch)]
    dead = RecordingProducer()
    consumer = AnswersConsumer(AnswerSink(store), DeadLetters(dead, "dl"))
    assert consumer(records) == 2
    assert sorted(a.window_end for a in store.answers()) == [2.0, 6.0]
    [(_, key, value, headers)] = dead.sent
    letter = msg.decode_deadletter(key, value, headers)
    assert letter.stage == "sink" and letter.offset == 1 and "NUL" in letter.error_message
    assert "INSERT" not in letter.error_message

    failures = QueryFailures(store.engine)
    at = {"stage": "query-answer", "camera": "dock", "error_type": "RuntimeError", "at": 1.0}
    failures.record([QueryError(query_id="q", version=2, message="v2", **at)])
    failures.record([QueryError(query_id="q", version=1, message="late v1", **at)])
    query = StandingQuery("q", "a red circle?", ("dock",), 1.0, 2.0, "clip", {}, version=2)
    assert failures.current([query])["q"].message == "v2"
    assert failures.current([replace(query, version=3)]) == {}  # a new version: cleared
    store.close()
