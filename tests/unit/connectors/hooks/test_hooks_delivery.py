"""One attempt's classification and the retry schedule, with httpx.MockTransport."""

from __future__ import annotations

import random

import httpx
import pytest
from pydantic import SecretStr

from connectors.hooks.base import HookMessage, HookTarget
from connectors.hooks.delivery import DeliverySchedule, Sender, parse_retry_after
from connectors.hooks.webhook import verify

MSG = HookMessage(
    event="opened",
    incident_id="inc-1",
    incident_state="open",
    rule_id="r1",
    query_id="q1",
    question="q?",
    camera="cam1",
    window_start=0.0,
    window_end=4.0,
    answer="yes",
    matched=True,
    score=0.8,
    started_at=0.0,
    opened_at=4.0,
)
TARGET = HookTarget("h1", "https://hooks.example/in/SECRETPATH", "webhook", SecretStr("k"))


def sender(handler, *, allow_private=False, addr="93.184.216.34"):
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Sender(
        client, allow_private=allow_private, resolve=lambda h, p: [addr], clock=lambda: 1700000000.0
    )


def reply(status, headers=None, text=""):
    return lambda request: httpx.Response(status, headers=headers or {}, text=text)


def test_2xx_is_delivered_with_signed_request():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(204)

    result = sender(handler).attempt(TARGET, MSG, "inc-1:opened:h1")
    assert result.ok and result.status == 204 and result.error is None
    req = seen[0]
    assert req.method == "POST" and req.headers["Idempotency-Key"] == "inc-1:opened:h1"
    # connects to the address that was checked, not to a second DNS answer
    assert req.url.host == "93.184.216.34" and req.url.path == "/in/SECRETPATH"
    assert req.headers["Host"] == "hooks.example"
    assert req.extensions["sni_hostname"] == "hooks.example"
    assert verify(
        "k",
        req.headers["X-Feedwatch-Timestamp"],
        req.content,
        req.headers["X-Feedwatch-Signature"],
        now=1700000000.0,
    )


def test_429_is_retried_after_retry_after():
    result = sender(reply(429, {"Retry-After": "7"})).attempt(TARGET, MSG, "k")
    assert not result.ok and result.retryable and result.retry_after == 7.0
    assert result.status == 429


def test_503_retry_after_honoured_500_plain_retry():
    r503 = sender(reply(503, {"Retry-After": "3"})).attempt(TARGET, MSG, "k")
    assert r503.retryable and r503.retry_after == 3.0
    r500 = sender(reply(500, {"Retry-After": "3"}, "boom")).attempt(TARGET, MSG, "k")
    assert r500.retryable and r500.retry_after is None and "HTTP 500: boom" in r500.error


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_not_retried(status):
    result = sender(reply(status, text="bad")).attempt(TARGET, MSG, "k")
    assert not result.ok and not result.retryable and result.status == status


def test_408_is_retried_and_redirects_are_not_followed():
    assert sender(reply(408)).attempt(TARGET, MSG, "k").retryable
    calls = []

    def redirect(request):
        calls.append(request.url)
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    result = sender(redirect).attempt(TARGET, MSG, "k")
    assert not result.ok and not result.retryable and "redirect" in result.error
    assert len(calls) == 1


def test_timeouts_and_connection_errors_are_retryable_and_scrubbed():
    def timeout(request):
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request):
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    r = sender(timeout).attempt(TARGET, MSG, "k")
    assert r.retryable and r.error.startswith("timeout")
    r = sender(refused).attempt(TARGET, MSG, "k")
    assert r.retryable and "SECRETPATH" not in r.error and "93.184.216.34/…" in r.error


def test_private_target_refused_before_any_request():
    calls = []
    s = sender(lambda r: calls.append(r) or httpx.Response(200), addr="10.0.0.2")
    r = s.attempt(TARGET, MSG, "k")
    assert not r.ok and not r.retryable and "private" in r.error and calls == []
    assert "SECRETPATH" not in r.error
    s = sender(
        lambda r: calls.append(r) or httpx.Response(200), addr="10.0.0.2", allow_private=True
    )
    assert s.attempt(TARGET, MSG, "k").ok and len(calls) == 1


def test_unknown_channel_type_is_final():
    r = sender(reply(200)).attempt(HookTarget("h", "https://x.example/", "pager"), MSG, "k")
    assert not r.ok and not r.retryable and "pager" in r.error


def test_backoff_ceiling_doubles_up_to_cap():
    p = DeliverySchedule(base=0.5, cap=3.0, max_attempts=10)
    assert [p.ceiling(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_is_uniform_within_ceiling():
    p = DeliverySchedule(base=1.0, cap=100.0)
    rng = random.Random(1)
    delays = [p.backoff(4, rng) for _ in range(2000)]
    assert 0.0 <= min(delays) < 0.1 and 7.9 < max(delays) <= 8.0
    assert 3.7 < sum(delays) / len(delays) < 4.3


def test_next_attempt_stops_at_max_attempts_and_max_age():
    p = DeliverySchedule(base=1.0, cap=10.0, max_attempts=3, max_age=20.0)
    rng = random.Random(0)
    at = p.next_attempt(failures=1, created_at=0.0, now=5.0, rng=rng)
    assert at is not None and 5.0 <= at <= 6.0
    assert p.next_attempt(failures=3, created_at=0.0, now=5.0, rng=rng) is None
    assert p.next_attempt(failures=1, created_at=0.0, now=5.0, retry_after=7.0) == 12.0
    assert p.next_attempt(failures=1, created_at=0.0, now=5.0, retry_after=16.0) is None


def test_parse_retry_after_forms():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
