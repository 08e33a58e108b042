"""Errors say what was wrong, never where the store or the brokers are or what a host
resolves to."""

from __future__ import annotations

import pytest

from connectors.bus.memory import MemoryBus
from connectors.store import Store
from tests.unit.workers.api.scenarios import READ, ApiHarness
from workers.config import HooksSettings, KafkaSettings


def test_search_on_an_empty_index_does_not_name_the_store(
    harness: ApiHarness, sqlite_store: Store
) -> None:
    resp = harness.call("GET", "/api/search", READ, params={"q": "a red circle"})
    assert resp.status_code == 409
    detail = resp.json()["detail"]
    assert "frame index" in detail and "feedwatch run" in detail  # what to do about it
    url = sqlite_store.engine.url
    for told in ("sqlite", str(url.database), "feedwatch.db"):
        assert told not in resp.text


def test_a_refused_hook_url_does_not_say_what_its_host_resolves_to(harness: ApiHarness) -> None:
    harness.app.state.hooks_settings = HooksSettings(allow_private=False)
    resp = harness.call("POST", "/api/hooks", json={"url": "http://localhost:9/h"})
    assert resp.status_code == 403
    detail = resp.json()["detail"]
    assert "refused: private or local address" in detail and "ALLOW_PRIVATE" in detail
    for told in ("127.0.0.1", "::1", "loopback", "resolves"):
        assert told not in detail


def test_ready_names_no_host_of_a_failing_dependency(
    harness: ApiHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down() -> None:
        raise OSError('connection to server at "db.internal" (10.1.2.3), port 5432 failed')

    monkeypatch.setattr(harness.app.state.fw.data, "ping", down)
    resp = harness.call("GET", "/ready", None)  # no token needed: anyone may ask
    assert resp.status_code == 503
    assert resp.json()["checks"]["database"]["detail"].startswith("OSError")
    for told in ("db.internal", "10.1.2.3", "5432"):
        assert told not in resp.text
    assert "10.1.2.3" in caplog.text  # the operator still learns why


def test_ready_does_not_say_where_the_brokers_are(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.kafka

    cfg = KafkaSettings(bootstrap="kafka.internal:9092")

    class Admin:
        def existing(self) -> set[str]:
            return {f"{cfg.topic_prefix}{cfg.queries_topic}"}

        def close(self) -> None:
            pass

    monkeypatch.setattr(connectors.kafka.TopicAdmin, "from_config", lambda _cfg: Admin())
    bus = MemoryBus()
    bus.cfg = cfg  # type: ignore[attr-defined]
    h = ApiHarness(sqlite_store, bus=bus, kafka=cfg)
    resp = h.call("GET", "/ready", None)
    assert resp.status_code == 200 and resp.json()["checks"]["bus"]["detail"] == "brokers answer"
    assert "kafka.internal" not in resp.text
