"""The generic JSON webhook channel, signed with the hook's secret.

Headers on every request:

- ``X-Feedwatch-Timestamp``: epoch seconds of this attempt;
- ``X-Feedwatch-Signature``: ``sha256=<hex>``, HMAC-SHA256 with the per-hook secret
  over ``timestamp + "." + body`` (absent when the hook has no secret);
- ``Idempotency-Key``: the same on every retry of one delivery, so a receiver can
  drop duplicates.

Receivers check with :func:`verify` (constant-time, with a freshness tolerance).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from typing import ClassVar

from connectors.hooks.base import Channel, HookMessage

SIGNATURE_HEADER = "X-Feedwatch-Signature"
TIMESTAMP_HEADER = "X-Feedwatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "feedwatch-hooks/0.1"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` over ``f"{timestamp}." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is valid for ``body`` and the timestamp is fresh."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(
        sign(secret, timestamp, body).encode(), signature.encode("utf-8", "replace"))


def json_body(data: object) -> bytes:
    """Compact, key-sorted, strict JSON (NaN/inf become null): the bytes signed and sent."""
    text = json.dumps(_finite(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def _finite(data: object) -> object:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def base_headers(idempotency_key: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key,
        TIMESTAMP_HEADER: str(timestamp),
    }


class WebhookChannel(Channel):
    """POSTs the incident as JSON; signs it when the hook has a secret."""

    type: ClassVar[str] = "webhook"

    def render(
        self, message: HookMessage, idempotency_key: str, timestamp: int
    ) -> tuple[bytes, dict[str, str]]:
        body = json_body(self.payload(message, idempotency_key))
        headers = base_headers(idempotency_key, timestamp)
        if self._secret is not None and self._secret.get_secret_value():
            headers[SIGNATURE_HEADER] = sign(self._secret.get_secret_value(), timestamp, body)
        return body, headers

    @staticmethod
    def payload(message: HookMessage, idempotency_key: str) -> dict[str, object]:
        """The documented JSON body (schema version 1)."""
        return {
            "version": 1,
            "idempotency_key": idempotency_key,
            "event": message.event,
            "question": message.question,
            "query_id": message.query_id,
            "camera": message.camera,
            "rule_id": message.rule_id,
            "incident": {
                "id": message.incident_id,
                "state": message.incident_state,
                "started_at": message.started_at,
                "opened_at": message.opened_at,
                "closed_at": message.closed_at,
            },
            "window": {"start": message.window_start, "end": message.window_end},
            "answer": {
                "id": message.answer_id,
                "text": message.answer,
                "matched": message.matched,
                "score": message.score,
            },
            "evidence_url": message.evidence_url,
            "description": message.description,
            "clip_url": message.clip_url,  # signed and expiring: no token needed
            "snapshot_url": message.snapshot_url,
            "clip_state": message.clip_state,
        }
