"""A Slack-compatible incoming-webhook body (``text`` plus Block Kit blocks).

Slack's incoming webhooks authenticate by the secret URL itself, so the URL is
never logged (see :func:`connectors.hooks.base.redact_url`). The feedwatch headers
(idempotency key, timestamp, signature when a secret is set) are sent as well;
Slack ignores them, Slack-compatible receivers (Mattermost, Rocket.Chat) may use them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from connectors.hooks.base import Channel, HookMessage
from connectors.hooks.webhook import SIGNATURE_HEADER, base_headers, json_body, sign
from pipeline.timings import WALL_STREAM


def _esc(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(t: float) -> str:
    """A live camera's window in UTC; a file's in seconds from its start (its stream
    times are not dates: they read 1970 as one)."""
    if t <= WALL_STREAM:
        return f"{t:g} s into the file"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


CLIP_NEWS = {
    "ready": "Clip ready",
    "expired": "No clip: the recording had expired",
    "failed": "No clip: cutting it failed",
}


def summary(message: HookMessage) -> str:
    """One line a person reads in the channel."""
    if message.event == "clip_ready":
        news = CLIP_NEWS.get(message.clip_state or "", f"Clip {message.clip_state}")
        return (f":movie_camera: {_esc(news)} for the incident on *{_esc(message.camera)}*: "
                f"{_esc(message.question)}")
    icon = ":rotating_light:" if message.event == "opened" else ":white_check_mark:"
    verb = "Incident opened" if message.event == "opened" else "Incident closed"
    seen = f" — {_esc(message.description)}" if message.description else ""
    return f"{icon} {verb} on *{_esc(message.camera)}*: {_esc(message.question)}{seen}"


def blocks(message: HookMessage) -> list[dict[str, object]]:
    score = "n/a" if message.score is None else f"{message.score:.3f}"
    fields = [
        f"*Answer:* {_esc(message.answer) or '(empty)'}",
        f"*Score:* {score}",
        f"*Window:* {_when(message.window_start)} → {_when(message.window_end)}",
        f"*Incident:* `{message.incident_id}` ({message.incident_state})",
    ]
    out: list[dict[str, object]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary(message)}},
    ]
    if message.description:
        seen = f"*Seen:* {_esc(message.description)}"
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": seen}})
    out.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    if message.snapshot_url:  # Slack fetches it: the public URL must reach the API
        out.append({"type": "image", "image_url": message.snapshot_url, "alt_text": "snapshot"})
    links = [f"<{message.evidence_url}|evidence>"] if message.evidence_url else []
    if message.clip_url and message.clip_state in ("ready", "pending"):
        links.append(f"<{message.clip_url}|clip>")
    elif message.clip_state in ("expired", "failed"):
        links.append(f"clip {message.clip_state}")
    if links:
        out.append({"type": "context",
                    "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    return out


class SlackChannel(Channel):
    """Slack incoming-webhook JSON: ``{"text": ..., "blocks": [...]}``."""

    type: ClassVar[str] = "slack"

    def render(
        self, message: HookMessage, idempotency_key: str, timestamp: int
    ) -> tuple[bytes, dict[str, str]]:
        body = json_body({"text": summary(message), "blocks": blocks(message)})
        headers = base_headers(idempotency_key, timestamp)
        if self._secret is not None and self._secret.get_secret_value():
            headers[SIGNATURE_HEADER] = sign(self._secret.get_secret_value(), timestamp, body)
        return body, headers
