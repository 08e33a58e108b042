"""The delivery worker: leases due outbox rows, sends each hook message, records the attempt.

A delivery lost by a crashed worker is leased again once its lease expires, and the
receiver sees the same ``Idempotency-Key`` every time.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field

from connectors.hooks.base import HookMessage
from connectors.hooks.delivery import AttemptResult, DeliverySchedule, Sender
from connectors.store.alerts_leases import Claimed
from connectors.store.alerts_models import DeliveryStatus
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import shown_url, target_of
from connectors.store.secret_box import SecretBox
from pipeline.errors import ConfigError
from workers.ops.metrics import HOOK_ATTEMPTS

log = logging.getLogger("feedwatch.alerts")


@dataclass(eq=False)
class DeliveryWorker:
    """Leases due deliveries and makes one attempt each, ``concurrency`` at a time."""

    outbox: Outbox
    sender: Sender
    policy: DeliverySchedule
    _: KW_ONLY
    lease_s: float = 60.0
    concurrency: int = 4
    rng: random.Random = field(default_factory=random.Random)  # jitter, not security
    decorate: Callable[[HookMessage], HookMessage] | None = None  # e.g. signed clip links
    secrets: SecretBox | None = None  # opens the hooks' sealed secrets

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="feedwatch-hook")
        self._lock = threading.Lock()
        self._sending: dict[Future[None], str] = {}  # attempts under way → their hook

    def run_once(self) -> int:
        """Lease up to ``concurrency`` due deliveries and send them; returns how many."""
        claimed = self.outbox.claim(self.concurrency, self.lease_s)
        list(self._pool.map(self.deliver, claimed))
        return len(claimed)

    def start_due(self, on_done: Callable[[], None] | None = None) -> int:
        """Lease due deliveries for the free senders and start them without waiting:
        at most one attempt per hook at a time, so a hook that hangs until its deadline
        holds one sender and never another hook's alerts. ``on_done`` is called as each
        attempt ends (a sender is free again); returns how many were started."""
        with self._lock:
            self._sending = {f: h for f, h in self._sending.items() if not f.done()}
            free = self.concurrency - len(self._sending)
            busy = set(self._sending.values())
        if free <= 0:
            return 0
        claimed = self.outbox.claim(free, self.lease_s, one_per_hook=True, skip_hooks=busy)
        for c in claimed:
            future = self._pool.submit(self.deliver, c)
            with self._lock:
                self._sending[future] = c.hook.id if c.hook is not None else ""
            if on_done is not None:
                future.add_done_callback(lambda _f: on_done())
        return len(claimed)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()

    def deliver(self, c: Claimed) -> None:
        """One attempt, then delivered, pending again (backoff / Retry-After) or dead."""
        if c.hook is None or not c.hook.enabled:
            self._settle(c, DeliveryStatus.DEAD, time.time(), 0.0, None, "hook removed or disabled")
            return
        age = time.time() - c.created_at
        if age > self.policy.max_age:
            why = f"expired: {age:.0f}s old > max age {self.policy.max_age:g}s, not sent"
            self._settle(c, DeliveryStatus.DEAD, time.time(), 0.0, None, why)
            return
        try:
            message = self.decorate(c.message) if self.decorate else c.message
            result = self.sender.attempt(target_of(c.hook, self.secrets), message, c.key)
        except ConfigError as exc:  # its secret cannot be opened: the key is missing or wrong
            log.error("delivery %s: %s", c.key, exc)
            result = AttemptResult(False, time.time(), 0.0, error=str(exc), retryable=True)
        except Exception as exc:  # noqa: BLE001 - a bug must not strand a leased delivery
            log.exception("delivery %s: unexpected error", c.key)
            now = time.time()
            result = AttemptResult(
                False, now, 0.0, error=f"internal: {type(exc).__name__}", retryable=True
            )
        if result.ok:
            self._settle(
                c, DeliveryStatus.DELIVERED, result.started_at, result.duration, result.status, None
            )
            return
        nxt = None
        if result.retryable:
            nxt = self.policy.next_attempt(
                failures=c.attempts + 1,
                created_at=c.created_at,
                now=time.time(),
                retry_after=result.retry_after,
                rng=self.rng,
            )
        status = DeliveryStatus.PENDING if nxt is not None else DeliveryStatus.DEAD
        error = result.error if nxt is not None or not result.retryable else self._gave_up(
            c, result)
        self._settle(c, status, result.started_at, result.duration, result.status, error, nxt)

    def _gave_up(self, c: Claimed, result: AttemptResult) -> str:
        """Why a retryable failure is not tried again: attempts spent, or a wait (backoff
        or the receiver's Retry-After) that would end past the delivery's max age."""
        if c.attempts + 1 < self.policy.max_attempts and result.retry_after is not None:
            return (f"{result.error}; the receiver asked to wait {result.retry_after:g}s "
                    f"(Retry-After), past the max age of {self.policy.max_age:g}s: given up")
        if c.attempts + 1 < self.policy.max_attempts:
            return f"{result.error}; the next try would be past the max age: given up"
        return f"{result.error}; gave up after {c.attempts + 1} attempts"

    def _settle(
        self,
        c: Claimed,
        status: DeliveryStatus,
        started: float,
        duration: float,
        code: int | None,
        error: str | None,
        nxt: float | None = None,
    ) -> None:
        HOOK_ATTEMPTS.labels({"pending": "retry"}.get(status.value, status.value)).inc()
        kept = self.outbox.settle(
            c,
            status=status,
            started_at=started,
            duration=duration,
            status_code=code,
            error=error,
            next_attempt_at=nxt,
        )
        where = shown_url(c.hook, self.secrets) if c.hook else "?"
        level = logging.WARNING if status is DeliveryStatus.DEAD else logging.INFO
        log.log(
            level,
            "delivery %s to %s (%s): %s%s%s",
            c.key,
            where,
            c.hook.id if c.hook else "?",
            status.value,
            f" HTTP {code}" if code else "",
            f" ({error})" if error else "",
        )
        if not kept:
            log.warning("delivery %s: lease lost before the attempt was recorded", c.key)
