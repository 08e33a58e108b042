"""Sending one delivery attempt, and when to try again.

:class:`Sender` makes ONE attempt: it checks the target (scheme, every resolved
address), renders the body with the hook's channel and POSTs it with timeouts and
no redirects. The outcome is an :class:`AttemptResult`, never an exception: 2xx is
delivered; 408, 429, 5xx, timeouts and connection errors are retryable (429 and 503
with the receiver's ``Retry-After``); other 4xx, 3xx and refused targets are final.

:class:`DeliverySchedule` decides the next attempt: exponential backoff with full jitter
(``uniform(0, min(cap, base·2^(n-1)))`` after the n-th failure), a Retry-After when
given, and nothing once ``max_attempts`` are spent or the next try would come later
than ``max_age`` after the delivery was created (the delivery is then dead). The time
it returns is stored with the delivery in the outbox, so the schedule survives restarts
and worker changes; in-process retries use :mod:`connectors.retry` instead.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from connectors.hooks.attempt_io import REPLY_MAX, Cutoff, pinned, read_head
from connectors.hooks.base import (
    Channel,
    DeliveryFailed,
    HookMessage,
    HookTarget,
    UnsafeTargetError,
    redact_url,
)
from connectors.hooks.safety import Resolver, check_target, system_resolver
from connectors.hooks.slack import SlackChannel
from connectors.hooks.webhook import WebhookChannel

# httpx logs every request URL at INFO; hook URLs (Slack's above all) carry secrets.
logging.getLogger("httpx").setLevel(logging.WARNING)

__all__ = ["CHANNELS", "REPLY_MAX", "AttemptResult", "DeliverySchedule", "Sender", "channel_for",
           "parse_retry_after"]
CHANNELS: dict[str, type[Channel]] = {c.type: c for c in (WebhookChannel, SlackChannel)}
RETRYABLE_4XX = {408, 425, 429}


def channel_for(target: HookTarget) -> Channel:
    """The channel plugin for the target's ``type``."""
    try:
        return CHANNELS[target.type](target.secret)
    except KeyError:
        raise DeliveryFailed(
            f"hook.type {target.type!r} is unknown; allowed: {', '.join(sorted(CHANNELS))}",
            retryable=False,
        ) from None


@dataclass(frozen=True)
class DeliverySchedule:
    """When a failed delivery is tried again (stored in the outbox): exponential backoff
    with full jitter, bounded by attempts and age."""

    base: float = 1.0
    cap: float = 300.0
    max_attempts: int = 8
    max_age: float = 86400.0

    def ceiling(self, failures: int) -> float:
        """The largest delay after the ``failures``-th failed attempt."""
        return min(self.cap, self.base * 2.0 ** max(failures - 1, 0))

    def backoff(self, failures: int, rng: random.Random | None = None) -> float:
        return (rng or random).uniform(0.0, self.ceiling(failures))

    def next_attempt(
        self,
        *,
        failures: int,
        created_at: float,
        now: float,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """When to try again, or ``None`` when the delivery is exhausted."""
        if failures >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(failures, rng)
        at = now + max(delay, 0.0)
        return None if at - created_at > self.max_age else at


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one attempt (an error record, not an exception)."""

    ok: bool
    started_at: float
    duration: float
    status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


class SenderSettings(Protocol):
    """What a sender reads from the hook settings (``HooksSettings`` of the workers)."""

    @property
    def timeout_s(self) -> float: ...

    @property
    def allow_private(self) -> bool: ...


@dataclass(eq=False)
class Sender:
    """Makes single delivery attempts over a ready ``httpx.Client``."""

    client: httpx.Client
    _: KW_ONLY
    allow_private: bool = False
    resolve: Resolver = system_resolver
    clock: Callable[[], float] = time.time
    deadline_s: float = 10.0
    """From the request's start until its reply has been read: a receiver that streams
    its reply slowly or forever is cut off then (each read also has the client's
    timeout, and at most :data:`REPLY_MAX` bytes are read)."""

    @classmethod
    def from_settings(cls, settings: SenderSettings, **kwargs: Any) -> Sender:
        """A sender with the timeouts of ``HooksSettings``; redirects are not followed, and
        every attempt has a connection of its own (so its deadline can cut it)."""
        timeout = httpx.Timeout(settings.timeout_s, connect=min(settings.timeout_s, 5.0))
        client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                              limits=httpx.Limits(max_keepalive_connections=0))
        kwargs.setdefault("deadline_s", settings.timeout_s)
        return cls(client, allow_private=settings.allow_private, **kwargs)

    def close(self) -> None:
        self.client.close()

    def attempt(self, target: HookTarget, message: HookMessage, key: str) -> AttemptResult:
        """POST ``message`` to ``target`` once."""
        started = self.clock()
        try:
            status = self._post(target, message, key, int(started))
        except DeliveryFailed as exc:
            return AttemptResult(
                ok=False,
                started_at=started,
                duration=self.clock() - started,
                status=exc.status,
                error=exc.reason,
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            )
        return AttemptResult(
            ok=True, started_at=started, duration=self.clock() - started, status=status
        )

    def _post(self, target: HookTarget, message: HookMessage, key: str, ts: int) -> int:
        address = self._check(target)
        channel = channel_for(target)
        body, headers = channel.render(message, key, ts)
        url, extensions = pinned(target.url, address, headers)
        deadline = time.monotonic() + self.deadline_s
        with Cutoff(self.deadline_s) as cut:
            try:
                with self.client.stream(
                    "POST", url, content=body, headers=headers,
                    extensions={**extensions, "trace": cut.trace},
                ) as response:
                    try:
                        head = read_head(response, deadline)
                    except httpx.HTTPError:
                        if not 200 <= response.status_code < 300:
                            raise
                        head = b""  # the receiver said 2xx: a reply cut short does not undo it
            except httpx.TimeoutException as exc:
                raise DeliveryFailed(f"timeout: {type(exc).__name__}") from exc
            except httpx.HTTPError as exc:
                if cut.expired:
                    raise DeliveryFailed(f"timeout: no complete reply within "
                                         f"{self.deadline_s:g}s") from exc
                text = _scrub(_scrub(f"{type(exc).__name__}: {exc}", str(url)), target.url)
                raise DeliveryFailed(text) from exc
        return _classify(response, head)

    def _check(self, target: HookTarget) -> str:
        """The first checked address: the request connects to it and nothing else."""
        try:
            return check_target(
                target.url, allow_private=self.allow_private, resolve=self.resolve
            )[0]
        except UnsafeTargetError as exc:
            raise DeliveryFailed(str(exc), retryable=False) from exc
        except OSError as exc:
            host = redact_url(target.url)
            raise DeliveryFailed(f"cannot resolve {host}: {exc.strerror or exc}") from exc


def _classify(response: httpx.Response, head: bytes) -> int:
    code = response.status_code
    if 200 <= code < 300:
        return code
    snippet = head[:200].decode("utf-8", errors="replace").strip()
    reason = f"HTTP {code}" + (f": {snippet}" if snippet else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if 300 <= code < 400:
        raise DeliveryFailed(f"{reason} (redirects are not followed)", status=code, retryable=False)
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        raise DeliveryFailed(reason, status=code, retryable=False)
    keep = retry_after if code in (429, 503) else None
    raise DeliveryFailed(reason, status=code, retryable=True, retry_after=keep)


def _scrub(text: str, url: str) -> str:
    return text.replace(url, redact_url(url))
