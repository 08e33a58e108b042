"""The soak's timeline: start, run with faults, drain, stop, then count."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from workers.soak import checks, rss, stack
from workers.soak.faults import FaultRunner, schedule
from workers.soak.report import (
    LagProbe,
    SoakReport,
    Tally,
    dead_letter_errors,
    read_topic,
    topic_answers,
    topic_segments,
)

TICK_S = 1.0
QUIET_S = 10.0


def drive(soak: Any) -> SoakReport:
    """Setup → run (faults) → drain → report; processes are always stopped."""
    cfg = soak.cfg
    t_start = time.time()
    probe = LagProbe(cfg.bootstrap)
    runner: FaultRunner | None = None
    try:
        soak.setup()
        soak.start_stack()
        t0 = time.time()
        end = t0 + cfg.minutes * 60.0
        plan = schedule(cfg.faults, cfg.minutes * 60.0)
        cfg.say(f"running {cfg.minutes:g} min; faults: {plan}")
        runner = FaultRunner(plan, soak, t0, end, cfg.say).start()
        _loop(soak, probe, until=end)
        runner.join(timeout=120)
        soak.api.stop_client()
        soak.span = (t0, time.time())  # the run proper, for the RSS verdict
        soak.stop_ingest()
        cfg.say("ingest stopped; draining")
        _drain(soak, probe)
        _drain_alerts(soak)
    finally:
        soak.close()
        probe.close()
    report = _report(soak, runner)
    report.wall_seconds = round(time.time() - t_start, 1)
    return report


def _loop(soak: Any, probe: LagProbe, until: float) -> None:
    last = 0.0
    while time.time() < until:
        soak.supervise()
        if time.time() - last > 3.0:
            soak.measure(probe)
            last = time.time()
        time.sleep(TICK_S)


def _answers(soak: Any) -> int | None:
    from connectors.store import Store

    try:
        store = Store.from_url(soak.cfg.db_url, upgrade=False)
    except Exception:
        return None
    try:
        return store.count_answers()
    except Exception:
        return None
    finally:
        store.close()


def _drain(soak: Any, probe: LagProbe) -> None:
    """Until both groups have no lag and the answer count is quiet (or drain_s)."""
    deadline = time.time() + soak.cfg.drain_s
    count, since = -1, time.time()
    p = soak.cluster.prefix
    while time.time() < deadline:
        soak.supervise()
        soak.measure(probe)
        now = _answers(soak)
        if now != count:
            count, since = now if now is not None else -1, time.time()
        lags = [probe.lag(f"{p}perceive", f"{p}segments"), probe.lag(f"{p}sink", f"{p}answers")]
        if lags == [0, 0] and time.time() - since > QUIET_S:
            return
        time.sleep(2.0)
    soak.cfg.say("drain: time is up")


def _drain_alerts(soak: Any, timeout: float = 90.0) -> None:
    """Until no delivery is pending and the receiver has been quiet a while."""
    from connectors.store import Store
    from connectors.store.alerts_repo import AlertStore

    deadline = time.time() + timeout
    store = Store.from_url(soak.cfg.db_url, upgrade=False)
    try:
        alerts = AlertStore(store.engine)
        seen, since = -1, time.time()
        while time.time() < deadline:
            soak.supervise()
            pending = [d for s in ("pending", "sending") for d in alerts.deliveries(status=s)]
            hits = sum(soak.receiver.hits.values())
            if hits != seen:
                seen, since = hits, time.time()
            if not pending and time.time() - since > QUIET_S:
                return
            time.sleep(2.0)
        soak.cfg.say("alerts drain: time is up")
    finally:
        store.close()


def _report(soak: Any, runner: FaultRunner | None) -> SoakReport:
    from connectors.store import Store

    cfg = soak.cfg
    r = SoakReport(cameras=cfg.cameras, minutes=cfg.minutes)
    if runner is not None:
        r.faults, r.skipped_faults = dict(runner.done), runner.skipped + runner.errors
    p = soak.cluster.prefix
    segments = topic_segments(read_topic(cfg.bootstrap, f"{p}segments"))
    real = {c: s for c, s in segments.items() if not c.startswith("fuzz")}
    r.segments_in = sum(len(s) for s in real.values())
    expected, _bad = stack.expected_answers(real, soak.make)
    store = Store.from_url(cfg.db_url, upgrade=False)
    try:
        answers = store.answers()
        newest = checks.newest_per_camera(store.engine)
        if cfg.retention is not None:
            r.retention = checks.audit_retention(store.engine, cfg.retention).as_dict()
    finally:
        store.close()
    keys = Counter((a.query_id, a.camera, a.window_end) for a in answers)
    produced, r.answer_messages_redelivered = topic_answers(
        read_topic(cfg.bootstrap, f"{p}answers")
    )
    keep = cfg.retention.answers if cfg.retention is not None else None
    missing, pruned = checks.split_missing(expected, set(keys), set(produced), newest, keep)
    r.answers = Tally.of(expected, keys)
    r.answers.missing, r.answers_pruned = len(missing), len(pruned)
    r.examples_missing = [f"{q}/{c}/{e}" for q, c, e in sorted(missing)[:5]]
    by_type, fuzz = dead_letter_errors(read_topic(cfg.bootstrap, f"{p}deadletter"))
    r.dead_letters_by_error = dict(by_type)
    r.fuzz_injected = len(soak.fuzz_ids)
    r.fuzz_dead_lettered = len(set(soak.fuzz_ids) & set(fuzz))
    if soak.api.client is not None:
        r.hostile = soak.api.client.report(set(fuzz))
    span = getattr(soak, "span", None)
    if span is not None and span[1] - span[0] >= rss.AFTER_S + rss.MIN_SPAN_S:
        r.rss = soak.rss.judge(*span)
    # the alert rule is replayed over every answer produced when retention pruned some
    _incidents(r, soak, list(produced.values()) if keep is not None else answers)
    logs = dict.fromkeys(proc.log for proc in soak.cluster.procs)
    r.log_errors, r.log_error_examples = checks.log_errors(logs)
    r.worker_restarts, r.crashes = soak.restarts, list(soak.crashes)
    r.max_consumer_lag, r.peak_memory_mb = (
        dict(soak.max_lag),
        {k: round(v, 1) for k, v in soak.peak.items()},
    )
    r.final_memory_mb = {k: round(v, 1) for k, v in soak.last.items()}
    return r


def _incidents(r: SoakReport, soak: Any, answers: list[Any]) -> None:
    expected = stack.expected_incidents(soak.rule, answers)
    opened = Counter(
        (b.get("camera"), (b.get("window") or {}).get("end"))
        for b in soak.receiver.bodies.values()
        if b.get("event") == "opened"
    )
    r.incidents = Tally.of(expected, opened)
    r.hook_requests = sum(soak.receiver.hits.values())
    r.delivery_attempts = _delivery_attempts(soak.cfg.db_url)
    r.bad_signatures = soak.receiver.bad_signatures


def _delivery_attempts(db_url: str) -> int:
    """Send attempts the alerts worker recorded (retries while the receiver was away)."""
    from connectors.store import Store
    from connectors.store.alerts_repo import AlertStore

    store = Store.from_url(db_url, upgrade=False)
    try:
        rows = AlertStore(store.engine).deliveries(limit=100_000)
    finally:
        store.close()
    return sum(int(d.get("attempts") or 0) for d in rows)
