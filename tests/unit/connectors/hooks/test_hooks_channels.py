"""Channels: the signed JSON webhook and the Slack body."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from connectors.hooks.base import HookMessage, HookTarget, redact_url
from connectors.hooks.slack import SlackChannel
from connectors.hooks.webhook import WebhookChannel, sign, verify

MSG = HookMessage(
    event="opened",
    incident_id="inc-1",
    incident_state="open",
    rule_id="r1",
    query_id="q1",
    question="is there a red circle?",
    camera="cam<1>",
    window_start=10.0,
    window_end=14.0,
    answer="yes",
    matched=True,
    score=0.91,
    started_at=6.0,
    opened_at=14.0,
    answer_id=42,
    evidence_url="http://dash.example/answers/42/evidence/0.jpg",
)


def test_webhook_body_has_everything_a_receiver_needs():
    body, headers = WebhookChannel(SecretStr("s3cret")).render(MSG, "inc-1:opened:h1", 1700000000)
    data = json.loads(body)
    assert data["question"] == MSG.question and data["camera"] == "cam<1>"
    assert data["incident"] == {
        "id": "inc-1",
        "state": "open",
        "started_at": 6.0,
        "opened_at": 14.0,
        "closed_at": None,
    }
    assert data["window"] == {"start": 10.0, "end": 14.0}
    assert data["answer"] == {"id": 42, "text": "yes", "matched": True, "score": 0.91}
    assert data["evidence_url"] == MSG.evidence_url and data["event"] == "opened"
    assert headers["Idempotency-Key"] == "inc-1:opened:h1"
    assert headers["X-Feedwatch-Timestamp"] == "1700000000"
    assert headers["Content-Type"] == "application/json"


def test_signature_verifies_and_detects_tampering():
    body, headers = WebhookChannel(SecretStr("s3cret")).render(MSG, "k", 1700000000)
    sig, ts = headers["X-Feedwatch-Signature"], headers["X-Feedwatch-Timestamp"]
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify("s3cret", ts, body, sig, now=1700000010)
    assert not verify("wrong", ts, body, sig, now=1700000010)
    assert not verify("s3cret", ts, body.replace(b"yes", b"no!"), sig, now=1700000010)
    assert not verify("s3cret", "1700000001", body, sig, now=1700000010)  # timestamp is signed
    assert not verify("s3cret", ts, body, sig, now=1700000000 + 301)  # stale replay
    assert not verify("s3cret", "not-a-time", body, sig)


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"123." + b'{"a":1}', hashlib.sha256).hexdigest()
    assert sign("k", 123, b'{"a":1}') == "sha256=" + expected


def test_no_secret_no_signature_header():
    _, headers = WebhookChannel(None).render(MSG, "k", 1)
    assert "X-Feedwatch-Signature" not in headers
    assert headers["Idempotency-Key"] == "k"


def test_slack_body_is_incoming_webhook_compatible():
    body, headers = SlackChannel().render(MSG, "k", 1700000000)
    data = json.loads(body)
    assert set(data) == {"text", "blocks"}
    assert "Incident opened" in data["text"] and "cam&lt;1&gt;" in data["text"]
    assert all(b["type"] in {"section", "context"} for b in data["blocks"])
    text = json.dumps(data["blocks"])
    assert "0.910" in text and "inc-1" in text and MSG.evidence_url in text
    shown = json.dumps(data["blocks"], ensure_ascii=False)
    assert "10 s into the file → 14 s into the file" in shown and "1970" not in shown
    assert headers["Idempotency-Key"] == "k"
    live = HookMessage(**{**MSG.to_dict(), "window_start": 1796672056.0,
                          "window_end": 1796672060.0})
    live_body = json.loads(SlackChannel().render(live, "k", 1)[0])
    assert "2026-12-07 19:34:16 UTC → 2026-12-07 19:34:20 UTC" in json.dumps(
        live_body, ensure_ascii=False)
    closed = HookMessage(
        **{
            **MSG.to_dict(),
            "event": "closed",
            "incident_state": "closed",
            "closed_at": 20.0,
            "evidence_url": None,
            "score": None,
        }
    )
    data = json.loads(SlackChannel().render(closed, "k2", 1)[0])
    assert "Incident closed" in data["text"] and "context" not in json.dumps(data["blocks"])


def test_secrets_are_not_in_reprs():
    target = HookTarget(
        "h", "https://hooks.slack.com/services/T0/B0/XXXXSECRET", "slack", SecretStr("topsecret")
    )
    assert "XXXXSECRET" not in repr(target) and "topsecret" not in repr(target)
    assert redact_url("https://user:pw@host:8443/a?b=c") == "https://host:8443/…"
    assert redact_url("http://host") == "http://host"


def test_message_round_trips_through_a_dict():
    assert HookMessage.from_dict({**MSG.to_dict(), "unknown": 1}) == MSG


def test_non_finite_scores_are_sent_as_null_strict_json():
    nan = HookMessage(**{**MSG.to_dict(), "score": float("nan")})
    body, _ = WebhookChannel(None).render(nan, "k", 1)
    assert json.loads(body, parse_constant=lambda c: pytest.fail(c))["answer"]["score"] is None
