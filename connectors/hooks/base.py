"""The alert-channel interface and its exceptions.

A channel turns one :class:`HookMessage` (an incident opening, closing or clip_ready) into the
body and headers of one HTTP POST for one hook. Channels are plugins keyed by
``type`` (``webhook``, ``slack``); sending, retrying and target checks live in
:mod:`connectors.hooks.delivery` and :mod:`connectors.hooks.safety`.

    HookError (pipeline.errors)
    ├── UnsafeTargetError   the hook URL is not http(s) or points at a refused address
    └── DeliveryFailed      one attempt failed; ``retryable`` and ``retry_after`` say what next
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from pydantic import SecretStr

from pipeline.errors import HookError


class UnsafeTargetError(HookError):
    """A hook URL that must not be called: bad scheme or a refused address."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"hook.url: {url!r} refused: {reason}")


class DeliveryFailed(HookError):
    """One delivery attempt failed.

    ``retryable`` is false for answers that will not change on retry (4xx other than
    408/429, refused targets); ``retry_after`` is the receiver's Retry-After, if any.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(reason)


@dataclass(frozen=True)
class HookTarget:
    """Where and how to deliver: one registered hook."""

    id: str
    url: str
    type: str = "webhook"
    secret: SecretStr | None = None

    def __repr__(self) -> str:
        return f"HookTarget(id={self.id!r}, type={self.type!r}, url={redact_url(self.url)!r})"


@dataclass(frozen=True)
class HookMessage:
    """What a receiver is told about one incident event (the outbox payload)."""

    event: str  # "opened" | "closed" | "clip_ready" (the clip of an opening that said pending)
    incident_id: str
    incident_state: str  # "open" | "closed"
    rule_id: str
    query_id: str
    question: str
    camera: str
    window_start: float
    window_end: float
    answer: str
    matched: bool | None
    score: float | None
    started_at: float
    opened_at: float
    closed_at: float | None = None
    answer_id: int | None = None
    evidence_url: str | None = None
    description: str | None = None  # the VLM's one sentence about the evidence frames
    clip_url: str | None = None  # signed, expiring: opens without the API token
    snapshot_url: str | None = None  # signed, expiring: the evidence frame, RoI box drawn
    clip_state: str | None = None  # pending | ready | expired | failed | skipped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HookMessage:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Channel(ABC):
    """Renders a message into one HTTP request body and its headers."""

    type: ClassVar[str]

    def __init__(self, secret: SecretStr | None = None) -> None:
        self._secret = secret

    @abstractmethod
    def render(
        self, message: HookMessage, idempotency_key: str, timestamp: int
    ) -> tuple[bytes, dict[str, str]]:
        """The POST body and headers for ``message`` sent at ``timestamp`` (epoch s)."""


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: paths and queries of hook URLs often hold secrets."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<invalid url>"
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    tail = "/…" if len(rest) > len(host) else ""
    return f"{scheme}://{host}{tail}"
