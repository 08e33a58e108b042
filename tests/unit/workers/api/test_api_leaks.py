"""Errors say what was wrong, never where the store is or what a host resolves to."""

from __future__ import annotations

from connectors.store import Store
from tests.unit.workers.api.scenarios import READ, ApiHarness
from workers.config import HooksSettings


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
