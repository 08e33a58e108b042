"""The one retry policy for in-process retries (tenacity).

Delay ``n`` (from 0) is ``initial · 2^n`` capped at ``maximum``, shortened by up to
``jitter`` (a fraction) at random so that many workers do not retry in step. An
error that says when to come back (a :class:`pipeline.errors.BackpressureError`'s
``retry_after``) is obeyed instead, up to ``maximum``. Every retry is logged with
what failed, the attempt and the delay. ``attempts=0`` retries until the call
succeeds or the ``stop`` event is set (a process that must not lose work, such as
a dead letter awaiting its broker); otherwise the last error is raised after
``attempts`` tries.

Hooks are not retried here: their delivery schedule is state in the outbox
(:mod:`connectors.hooks.delivery`), so it survives restarts.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    stop_when_event_set,
    wait_exponential,
)
from tenacity.stop import stop_base

log = logging.getLogger(__name__)
T = TypeVar("T")
Errors = type[BaseException] | tuple[type[BaseException], ...]


class wait_capped_jitter(wait_exponential):  # noqa: N801 - tenacity's naming
    """Capped exponential delays with proportional jitter; honours ``retry_after``."""

    def __init__(self, initial: float, maximum: float, jitter: float, rng: random.Random) -> None:
        super().__init__(multiplier=initial, max=maximum)
        self.maximum, self.jitter, self.rng = maximum, jitter, rng

    def __call__(self, retry_state: RetryCallState) -> float:
        hint = _retry_after(retry_state)
        if hint is not None:
            return min(hint, self.maximum)
        return float(super().__call__(retry_state)) * (1.0 - self.jitter * self.rng.random())


def _retry_after(state: RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    hint = getattr(exc, "retry_after", None)
    if isinstance(hint, int | float) and not isinstance(hint, bool) and hint > 0:
        return float(hint)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between tries and how many to make: delays start at ``initial`` s
    and double up to ``maximum`` s, each cut by a random share of up to ``jitter``; a
    ``retry_after`` the error carries wins (capped too). ``attempts=0``: no bound."""

    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.25
    attempts: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum):
            raise ValueError(f"retry policy: need 0 < initial <= maximum, got {self}")
        if not (0.0 <= self.jitter <= 1.0) or self.attempts < 0:
            raise ValueError(f"retry policy: need 0 <= jitter <= 1 and attempts >= 0, got {self}")

    def wait(self, rng: random.Random | None = None) -> wait_capped_jitter:
        """The tenacity wait strategy of this policy."""
        return wait_capped_jitter(self.initial, self.maximum, self.jitter, rng or random.Random())

    def delays(self, rng: random.Random | None = None) -> Backoff:
        """The same delays for a loop that keeps its own state (reconnecting streams)."""
        return Backoff(self, rng)

    def retrying(
        self,
        what: str,
        *,
        on: Errors = Exception,
        stop: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
        logger: logging.Logger = log,
    ) -> Retrying:
        """A tenacity ``Retrying`` that calls ``fn`` until it succeeds: ``.retrying(...)(fn)``."""
        return Retrying(
            sleep=sleep or _sleeper(stop),
            stop=self._stop(stop),
            wait=self.wait(),
            retry=retry_if_exception_type(on),
            before_sleep=_log_retry(what, logger),
            reraise=True,
        )

    def call(
        self, fn: Callable[[], T], what: str, *, on: Errors = Exception,
        stop: threading.Event | None = None, logger: logging.Logger = log,
    ) -> T:
        """``fn()`` retried under this policy; the last error if it never succeeds."""
        return self.retrying(what, on=on, stop=stop, logger=logger)(fn)

    def _stop(self, event: threading.Event | None) -> stop_base:
        bound: stop_base = stop_after_attempt(self.attempts) if self.attempts else stop_never
        return bound | stop_when_event_set(event) if event is not None else bound


class Backoff:
    """The policy's delays, one per :meth:`next`, restarting after :meth:`reset`."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._wait = policy.wait(rng)
        self.attempts = 0

    def next(self) -> float:
        self.attempts += 1
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]  # no retrier
        state.attempt_number = self.attempts
        return self._wait(state)

    def reset(self) -> None:
        self.attempts = 0

    def __iter__(self) -> Iterator[float]:
        while True:
            yield self.next()


def _sleeper(stop: threading.Event | None) -> Callable[[float], None]:
    """A sleep that a set ``stop`` event cuts short."""
    event = stop or threading.Event()

    def sleep(seconds: float) -> None:
        event.wait(seconds)

    return sleep


def _log_retry(what: str, logger: logging.Logger) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s failed (attempt %d: %s: %s); retrying in %.2fs",
            what, state.attempt_number, type(exc).__name__, exc, delay,
        )

    return before_sleep
