"""The alerting process: the rule evaluator and the delivery worker.

The evaluator polls stored answers by id after a durable cursor (so it works the
same behind the embedded run and the Kafka sink), runs the rules and writes
incidents plus outbox rows in one transaction. The delivery worker leases due outbox
rows, sends each with :class:`connectors.hooks.delivery.Sender` and records the
attempt; a delivery lost by a crashed worker is leased again once its lease expires,
and the receiver sees the same ``Idempotency-Key`` every time.

``feedwatch alerts`` runs both loops (:func:`run_forever`); ``feedwatch run --hook``
starts them in-process with :func:`workers.alerts.run.start_embedded_alerts` and waits on
:meth:`AlertService.drain` at the end of a file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from connectors.hooks.base import HookMessage
from connectors.hooks.delivery import DeliverySchedule, Sender
from connectors.store.alerts_outbox import CursorConflict, EvalResult, Outbox
from connectors.store.alerts_repo import PolicyDefaults
from connectors.store.clip_links import IncidentLinks
from connectors.store.secret_box import SecretBox
from pipeline.errors import ConfigError, StoreError
from workers.alerts.delivery import DeliveryWorker
from workers.config import HooksSettings, Settings, secret_box
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat

log = logging.getLogger("feedwatch.alerts")
STORE_ERROR_LOG_EVERY_S = 30.0


def defaults_of(settings: HooksSettings) -> PolicyDefaults:
    return PolicyDefaults(settings.cooldown_s, settings.rate_cap, settings.rate_period_s)


def delivery_schedule_of(settings: HooksSettings) -> DeliverySchedule:
    return DeliverySchedule(
        base=settings.backoff_base_s,
        cap=settings.backoff_cap_s,
        max_attempts=settings.max_attempts,
        max_age=settings.max_age_s,
    )


Decorate = Callable[[HookMessage], HookMessage]


def incident_links(settings: Settings, engine: Engine) -> Decorate | None:
    """Signed clip and snapshot links for notifications (None without a public URL)."""
    links = IncidentLinks.from_config(
        engine, settings.hooks.public_url, settings.clips.link_ttl_s,
        settings.link_key.get_secret_value(), settings.link_key_file, secret_box(settings))
    return links.decorate if links is not None else None


class Evaluator:
    """Moves the answer cursor forward through the rules, one transaction per batch."""

    def __init__(
        self, outbox: Outbox, *, batch: int = 200, public_url: str = "", gap_grace_s: float = 2.0
    ) -> None:
        self.outbox = outbox
        self.batch = batch
        self.public_url = public_url.rstrip("/")
        self.gap_grace_s = gap_grace_s
        self._gaps: dict[int, float] = {}
        self._serial = outbox.engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self.failed: dict[str, str] = {}
        """Rules skipped because they failed (rule id → error), since this process began."""

    def run_once(self) -> EvalResult:
        """One batch; serialised within the process (the drain and the loop share it)."""
        try:
            with self._lock:
                result = self.outbox.evaluate(self.batch, self._evidence_url, self._hold)
        except CursorConflict as exc:
            log.info("evaluator: %s; retrying", exc)
            return EvalResult()
        self._report(result.failed)
        return result

    def _report(self, failed: tuple[tuple[str, str], ...]) -> None:
        """A failed rule is counted per batch and logged when its error is new."""
        for rule_id, error in failed:
            metrics.ALERT_RULE_FAILURES.labels(rule=rule_id).inc()
            if self.failed.get(rule_id) != error:
                log.error("alert rule %s skipped, the others ran: %s", rule_id, error)
            self.failed[rule_id] = error

    def _evidence_url(self, answer_id: int, has_evidence: bool) -> str | None:
        if not self.public_url:
            return None
        tail = "/evidence/0.jpg" if has_evidence else ""
        return f"{self.public_url}/api/answers/{answer_id}{tail}"

    def _hold(self, expected_id: int) -> bool:
        """Wait briefly at an id gap on PostgreSQL: a slower insert may still commit."""
        if self._serial:
            return False
        first = self._gaps.setdefault(expected_id, time.monotonic())
        if len(self._gaps) > 1000:
            self._gaps = {expected_id: first}
        return time.monotonic() - first < self.gap_grace_s


class AlertService:
    """Runs the evaluator and the delivery worker in two background threads."""

    def __init__(self, evaluator: Evaluator, worker: DeliveryWorker, poll_s: float = 0.5) -> None:
        self.evaluator = evaluator
        self.worker = worker
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._last_store_log = -STORE_ERROR_LOG_EVERY_S
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: HooksSettings, *,
        decorate: Decorate | None = None, secrets: SecretBox | None = None,
        **sender_kwargs: Any
    ) -> AlertService:
        """Build from ``HooksSettings`` (``sender_kwargs`` reach the Sender, e.g. a resolver;
        ``decorate`` adds to each message as it is sent, e.g. :func:`incident_links`;
        ``secrets`` opens the hooks' sealed secrets)."""
        if settings.lease_s <= settings.timeout_s:
            raise ConfigError(
                "hooks.lease_s",
                settings.lease_s,
                f"more than hooks.timeout_s ({settings.timeout_s})",
            )
        outbox = Outbox(engine, defaults_of(settings))
        evaluator = Evaluator(outbox, batch=settings.batch_size, public_url=settings.public_url)
        sender = Sender.from_settings(settings, **sender_kwargs)
        worker = DeliveryWorker(
            outbox, sender, delivery_schedule_of(settings), lease_s=settings.lease_s,
            decorate=decorate, secrets=secrets,
        )
        return cls(evaluator, worker, settings.poll_s)

    @property
    def outbox(self) -> Outbox:
        return self.evaluator.outbox

    def start(self) -> AlertService:
        for name, loop in (("evaluate", self._evaluate_loop), ("deliver", self._deliver_loop)):
            t = threading.Thread(target=loop, name=f"feedwatch-alerts-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _evaluate_loop(self) -> None:
        while not self._stop.is_set():
            result = self._guard(self.evaluator.run_once)
            if result is not None and result.enqueued:
                self._wake.set()
            if result is None or result.answers < self.evaluator.batch:
                self._stop.wait(self.poll_s)

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            started = self._guard(lambda: self.worker.start_due(self._wake.set))
            if started:
                continue
            due = self._guard(self.outbox.next_due)
            wait = self.poll_s if due is None else min(max(due - time.time(), 0.01), self.poll_s)
            self._wake.wait(wait)
            self._wake.clear()

    def _guard(self, fn: Callable[[], Any]) -> Any:
        """A store hiccup is logged and retried on the next tick, never a dead thread."""
        try:
            return fn()
        except (StoreError, OSError, DBAPIError) as exc:
            self._store_down(exc)
        except Exception as exc:  # noqa: BLE001 - keep the loop alive; the error is logged
            log.exception("alerts loop error: %s", type(exc).__name__)
        return None

    def _store_down(self, exc: Exception) -> None:
        """One line per outage interval, not one traceback per tick while the store is down."""
        now = time.monotonic()
        if now - self._last_store_log >= STORE_ERROR_LOG_EVERY_S:
            self._last_store_log = now
            log.error("alerts: store unavailable, retrying: %s", str(exc).splitlines()[0][:300])

    def drain(self, timeout: float) -> int:
        """Evaluate every stored answer, then wait up to ``timeout`` s for pending
        deliveries; returns how many are still pending."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while time.monotonic() < deadline:
            result = self._guard(self.evaluator.run_once)
            if result is not None and result.answers == 0:
                break
        self._wake.set()
        while (left := self.outbox.pending()) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
        return int(left)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=30)
        self.worker.close()


def run_forever(service: AlertService, stop: threading.Event) -> None:
    """Run until ``stop`` is set (signal handlers set it)."""
    service.start()
    beat = Heartbeat.from_env()
    try:
        while not stop.wait(0.5):
            beat.beat()
    finally:
        service.stop()
