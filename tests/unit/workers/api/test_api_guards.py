"""Bounded per-client resources: invalid tokens slow the address that sends them, a
token holds a few live streams at most, a rule notifies a bounded number of hooks, and
the cameras, queries, hooks and rules a client adds (so every listing) are bounded."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from connectors.store import Store
from pipeline.alerts.model import MAX_RULE_HOOKS, Rule
from pipeline.errors import ConfigError
from tests.unit.workers.api.live_scenarios import SseReader
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness, answer
from workers.api.guard import AuthThrottle, client_key, token_key
from workers.config import HooksSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(h: ApiHarness, address: str) -> TestClient:
    return TestClient(h.app, client=(address, 40000))


def _get(client: TestClient, token: str) -> httpx.Response:
    return client.get("/api/queries", headers={"Authorization": f"Bearer {token}"})


def test_invalid_tokens_are_throttled_per_address(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"auth_failures": 3, "auth_window_s": 60})
    clock = Clock()
    h.app.state.auth_throttle = AuthThrottle(3, 60, clock)
    attacker, user = _client(h, "203.0.113.9"), _client(h, "198.51.100.4")
    assert [_get(attacker, f"guess-{i}").status_code for i in range(3)] == [401] * 3
    refused = _get(attacker, "guess-3")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert _get(attacker, READ).status_code == 429  # its tokens are not even looked at now
    assert _get(user, READ).status_code == 200  # another address is not blocked by it
    assert [_get(user, "typo").status_code for _ in range(2)] == [401, 401]
    assert _get(user, READ).status_code == 200
    clock.now += 30
    assert _get(attacker, READ).headers["Retry-After"] == "30"
    clock.now += 30.5  # the first failures left the window
    assert _get(attacker, READ).status_code == 200


def test_missing_tokens_and_missing_scopes_are_not_guesses(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"auth_failures": 2})
    client = _client(h, "203.0.113.10")
    for _ in range(5):
        assert client.get("/api/queries").status_code == 401  # no token: nothing guessed
        assert client.post("/api/queries", json={"question": "q"},
                           headers={"Authorization": f"Bearer {READ}"}).status_code == 403
    assert _get(client, WRITE).status_code == 200


def test_ipv6_clients_are_counted_by_their_64() -> None:
    class Request:
        def __init__(self, host: str) -> None:
            self.client = type("Client", (), {"host": host})()

    def key(host: str) -> str:
        return client_key(Request(host))  # type: ignore[arg-type]

    assert key("2001:db8:1:2::5") == key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::5") != key("2001:db8:1:2::5")
    assert key("::ffff:203.0.113.7") == key("203.0.113.7") == "203.0.113.7"


def test_the_throttle_is_documented_on_every_guarded_operation(harness: ApiHarness) -> None:
    paths = harness.call("GET", "/openapi.json", READ).json()["paths"]
    guarded = [op for ops in paths.values() for op in ops.values() if op.get("security")]
    assert guarded and all("429" in op["responses"] for op in guarded)
    assert "Retry-After" in paths["/api/answers/stream"]["get"]["responses"]["429"]["headers"]


def _open(url: str, token: str) -> SseReader:
    reader = SseReader(f"{url}/api/answers/stream", token)
    assert reader.connected.wait(10)
    return reader


def test_open_streams_per_token_are_bounded(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"sse_keepalive_s": 0.2, "streams_per_token": 2})
    with h.served() as url:
        held = [_open(url, READ), _open(url, READ)]
        try:
            over = httpx.get(f"{url}/api/answers/stream", timeout=5,
                             headers={"Authorization": f"Bearer {READ}"})
            assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
            assert "at most 2 open streams" in over.json()["detail"]
            other = _open(url, WRITE)  # another token has its own slots
            assert other.error is None
            other.close()
            held.pop().close()  # a closed stream hands its slot back
            slots, deadline = h.app.state.stream_slots, time.monotonic() + 10
            while slots.open_count(token_key(READ)) > 1 and time.monotonic() < deadline:
                time.sleep(0.05)  # the server notices the client left at its next keep-alive
            held.append(_open(url, READ))
            assert all(r.error is None for r in held)
        finally:
            for reader in held:
                reader.close()


def _rule(hooks: list[str], query_id: str = "q") -> dict[str, Any]:
    return {"query_id": query_id, "hooks": hooks}


def test_a_rule_notifies_a_bounded_number_of_hooks(harness: ApiHarness) -> None:
    too_many = harness.call("POST", "/api/rules", json=_rule([f"h{i}" for i in range(33)]))
    assert too_many.status_code == 422
    (error,) = too_many.json()["detail"]
    assert error["loc"] == ["body", "hooks"] and str(MAX_RULE_HOOKS) in error["msg"]
    long_id = harness.call("POST", "/api/rules", json=_rule(["h" * 201]))
    assert long_id.status_code == 422 and long_id.json()["detail"][0]["loc"][:2] == [
        "body", "hooks"]
    schema = harness.call("GET", "/openapi.json", READ).json()["components"]["schemas"]
    assert schema["RuleCreate"]["properties"]["hooks"]["maxItems"] == MAX_RULE_HOOKS
    with pytest.raises(ConfigError, match="at most 32 hooks"):
        Rule("r", "q", hooks=tuple(f"h{i}" for i in range(33)))


def _refused_at(resp: httpx.Response, loc: list[str], what: str) -> None:
    assert resp.status_code == 409, resp.text
    (error,) = resp.json()["detail"]
    assert error["loc"] == loc and f"at most 2 {what}" in error["msg"]
    assert "FEEDWATCH_API_MAX_ITEMS" in error["msg"]


def test_what_a_client_adds_is_bounded_and_so_are_its_listings(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"max_items": 2})
    h.app.state.hooks_settings = HooksSettings(allow_private=True)
    for cam in ("a", "b"):
        assert h.call("PUT", f"/api/cameras/{cam}", json={}).status_code == 200
    _refused_at(h.call("PUT", "/api/cameras/c", json={}), ["path", "camera_id"], "cameras")
    assert h.call("PUT", "/api/cameras/a", json={"source": "rtsp://cam/a"}).status_code == 200
    assert len(h.call("GET", "/api/cameras", READ).json()) == 2

    first, second = h.create("q one"), h.create("q two")
    _refused_at(h.call("POST", "/api/queries", json={"question": "q three"}), ["body"],
                "standing queries")
    assert h.call("DELETE", f"/api/queries/{first['id']}").status_code == 204
    h.create("q three")  # a removed one makes room
    assert len(h.call("GET", "/api/queries", READ).json()) == 2

    hooks = [h.call("POST", "/api/hooks", json={"url": f"http://127.0.0.1:9/{i}"}).json()["id"]
             for i in range(2)]
    _refused_at(h.call("POST", "/api/hooks", json={"url": "http://127.0.0.1:9/x"}), ["body"],
                "hooks")
    for _ in range(2):
        assert h.call("POST", "/api/rules", json=_rule(hooks, second["id"])).status_code == 201
    _refused_at(h.call("POST", "/api/rules", json=_rule(hooks, second["id"])), ["body"], "rules")
    assert len(h.call("GET", "/api/rules", READ).json()) == 2
    assert len(h.call("GET", "/api/hooks", READ).json()) == 2


def test_a_resume_from_far_back_replays_a_bounded_tail_after_a_gap(sqlite_store: Store) -> None:
    """A stream from ``after=0`` replayed all of history, 100 answers a turn, however
    many streams asked and whether or not they were read."""
    h = ApiHarness(sqlite_store, api={"sse_keepalive_s": 0.2, "sse_replay_max": 10})
    h.store.insert_answers([answer("q1", "dock", float(t)) for t in range(1, 31)])
    with h.served() as url:
        reader = SseReader(f"{url}/api/answers/stream?after=0", READ)
        try:
            events = reader.wait_for(11)
            (gap_id, gap), *rest = events
            assert (gap["after"], gap["resumed_after"], gap_id) == (0, 20, "20")
            assert [e["window_end"] for _, e in rest] == [float(t) for t in range(21, 31)]
            time.sleep(0.5)
            assert len(reader.events) == 11
        finally:
            reader.close()
        near = SseReader(f"{url}/api/answers/stream?after=25", READ)
        try:
            assert [e["window_end"] for _, e in near.wait_for(5)] == [26.0, 27.0, 28.0,
                                                                     29.0, 30.0]
        finally:
            near.close()


def test_a_token_says_what_it_may_do(harness: ApiHarness) -> None:
    """The dashboard asks before it offers write actions."""
    assert harness.call("GET", "/api/token", token=READ).json() == {"scopes": ["read"]}
    assert harness.call("GET", "/api/token", token=WRITE).json() == {"scopes": ["read", "write"]}
    assert harness.call("GET", "/api/token", token="nonsense").status_code == 401
