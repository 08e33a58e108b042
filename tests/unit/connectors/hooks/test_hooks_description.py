"""The VLM's description travels in webhook and Slack bodies (absent: null / not shown)."""

from __future__ import annotations

import json

from connectors.hooks.base import HookMessage
from connectors.hooks.slack import SlackChannel
from connectors.hooks.webhook import WebhookChannel

SEEN = "a forklift stands in front of the exit door"


def _message(description: str | None) -> HookMessage:
    return HookMessage(
        "opened",
        "inc-1",
        "open",
        "r",
        "q",
        "is the exit blocked?",
        "cam",
        0.0,
        4.0,
        "yes, " + (description or ""),
        True,
        0.4,
        0.0,
        4.0,
        evidence_url="https://fw.example/answers/1/evidence",
        description=description,
    )


def test_webhook_body_carries_the_description_next_to_question_and_evidence() -> None:
    body = json.loads(WebhookChannel().render(_message(SEEN), "k", 1)[0])
    assert body["description"] == SEEN
    assert body["question"] == "is the exit blocked?" and body["evidence_url"].endswith("/evidence")
    assert json.loads(WebhookChannel().render(_message(None), "k", 1)[0])["description"] is None


def test_slack_body_shows_the_description() -> None:
    body = json.loads(SlackChannel().render(_message(SEEN), "k", 1)[0])
    assert SEEN in body["text"]
    assert any(SEEN in json.dumps(b) for b in body["blocks"])
    plain = json.loads(SlackChannel().render(_message(None), "k", 1)[0])
    assert "Seen" not in json.dumps(plain)


def test_description_survives_the_outbox_payload() -> None:
    message = _message(SEEN)
    assert HookMessage.from_dict(json.loads(json.dumps(message.to_dict()))) == message
