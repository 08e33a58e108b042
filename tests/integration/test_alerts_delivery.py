"""Alert delivery against a real HTTP receiver on 127.0.0.1 and a real store.

- retries: a receiver that fails, then times out once, then succeeds; every incident
  is processed exactly once by idempotency key, signatures verify, attempts follow
  the backoff (SQLite file, and PostgreSQL);
- crash: ``feedwatch alerts`` killed with -9 while deliveries are pending and in
  flight; a new one sends them, none is acknowledged twice;
- flicker: the red circle present/absent every window opens no incident of its own;
  incidents == stable presences of the scene's ground truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alerts_receiver import Receiver

from connectors.store import Store
from connectors.store.alerts_repo import AlertStore
from connectors.store.secret_box import SecretBox, new_key
from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import EventKind, Rule
from pipeline.scenes.builders import scripted_scene
from pipeline.types import Answer
from workers.alerts.engine import AlertService
from workers.config import HooksSettings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "integration-secret"
KEY = new_key()  # seals the hook secret; the alerts process gets it in its environment
BOX = SecretBox([KEY.encode()])
PATTERN = "0011100011110000111000"  # three presences of >= 2 windows, each closed by 2 misses


def answers_from(pattern: str, query: str = "q-red", camera: str = "cam1") -> list[Answer]:
    return [
        Answer(
            query,
            "is there a red circle?",
            camera,
            float(i),
            i + 1.0,
            i + 1.0,
            "clip",
            "yes" if c == "1" else "no",
            c == "1",
            0.9 if c == "1" else 0.1,
            (),
            (),
            0,
            1.0,
        )
        for i, c in enumerate(pattern)
    ]


def settings(**kw: object) -> HooksSettings:
    base = dict(
        allow_private=True,
        timeout_s=0.5,
        backoff_base_s=0.2,
        backoff_cap_s=1.0,
        max_attempts=8,
        poll_s=0.05,
        lease_s=10.0,
        rate_cap=0,
    )
    return HooksSettings(**{**base, **kw})


def register(store: Store, url: str, *, notify_close: bool = True) -> str:
    alerts = AlertStore(store.engine, BOX)
    hook = alerts.add_hook(url, secret=SECRET, allow_private=True, name="test")
    alerts.add_rule(
        Rule(
            "rule-red",
            "q-red",
            open_after=2,
            close_after=2,
            notify_close=notify_close,
            hooks=(hook["id"],),
        )
    )
    return str(hook["id"])


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    url = (
        f"sqlite:///{tmp_path}/alerts.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    s = Store.from_url(url)
    yield s
    s.close()


@pytest.fixture
def receiver():
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def flaky(key: str, n: int) -> tuple:
    """Openings: 500, 502, timeout, ok. Closings: 429 Retry-After 1, timeout, ok."""
    if key.split(":")[1] == "closed":
        return [("status", 429, {"Retry-After": "1"}), ("late", 1.2)][n - 1] if n <= 2 else ("ok",)
    return [("status", 500), ("status", 502), ("late", 1.2)][n - 1] if n <= 3 else ("ok",)


def test_retries_timeouts_backoff_and_exactly_once(store: Store, receiver: Receiver) -> None:
    receiver.script = flaky
    register(store, receiver.url)
    service = AlertService.from_settings(store.engine, settings(), secrets=BOX)
    service.outbox.init_cursor("earliest")
    service.start()
    try:
        store.insert_answers(answers_from(PATTERN))
        assert service.drain(60.0) == 0
    finally:
        service.stop()

    alerts = AlertStore(store.engine)
    deliveries = alerts.deliveries()
    keys = {d["idempotency_key"] for d in deliveries}
    assert len(alerts.incidents()) == 3 and len(deliveries) == 6
    assert {d["status"] for d in deliveries} == {"delivered"}
    # each incident event processed exactly once by the receiver, acknowledged once
    assert dict(receiver.processed) == {k: 1 for k in keys}
    assert dict(receiver.ok_answers()) == {k: 1 for k in keys}
    hits = receiver.by_key()
    assert all(h.signature_ok for hs in hits.values() for h in hs)
    for key, hs in hits.items():  # retries carry the same key and the same body
        assert len({h.body for h in hs}) == 1, key
        assert [h.n for h in hs] == list(range(1, len(hs) + 1))
        assert len(hs) == (3 if key.split(":")[1] == "closed" else 4)
    check_backoff(alerts, deliveries, base=0.2, cap=1.0)


def test_the_evaluator_counts_the_notifications_it_queued(store: Store, receiver: Receiver
                                                          ) -> None:
    # the deliverer is woken by that count: on PostgreSQL it read 0 (psycopg reports
    # rowcount -1 for INSERT ... ON CONFLICT) and every alert waited for the next poll
    register(store, receiver.url)
    service = AlertService.from_settings(store.engine, settings(), secrets=BOX)
    service.outbox.init_cursor("earliest")
    store.insert_answers(answers_from(PATTERN))
    result = service.evaluator.run_once()
    assert result.enqueued == len(AlertStore(store.engine).deliveries()) == 6
    assert service.evaluator.run_once().enqueued == 0  # nothing new, nothing queued twice


def check_backoff(alerts: AlertStore, deliveries: list[dict], base: float, cap: float) -> None:
    """Delays are full jitter within min(cap, base·2^(n-1)); 429 waits Retry-After."""
    by_delivery: dict[int, list[dict]] = {}
    for a in alerts.attempts():
        by_delivery.setdefault(a["delivery_id"], []).append(a)
    event = {d["id"]: d["event"] for d in deliveries}
    for did, attempts in by_delivery.items():
        outcomes = [a["outcome"] for a in attempts]
        assert outcomes == ["retry"] * (len(attempts) - 1) + ["delivered"]
        for n, (a, b) in enumerate(zip(attempts, attempts[1:], strict=False), start=1):
            end = a["started_at"] + a["duration_ms"] / 1000.0
            delay = a["retry_at"] - end
            if event[did] == "closed" and n == 1:
                assert a["status_code"] == 429 and abs(delay - 1.0) < 0.1
            else:
                assert -0.05 <= delay <= min(cap, base * 2 ** (n - 1)) + 0.05, (n, delay)
            assert a["retry_at"] - 0.01 <= b["started_at"] <= a["retry_at"] + 2.0
        timeouts = [a for a in attempts if a["error"] and a["error"].startswith("timeout")]
        assert len(timeouts) == 1


def run_alerts_process(db_url: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from workers.cli.main import entrypoint; entrypoint()",
            "alerts",
            "--db",
            db_url,
            "--from",
            "earliest",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def statuses(alerts: AlertStore) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in alerts.deliveries():
        out[d["status"]] = out.get(d["status"], 0) + 1
    return out


def test_killed_worker_resumes_and_sends_nothing_twice(tmp_path: Path, receiver: Receiver) -> None:
    db_url = f"sqlite:///{tmp_path}/crash.db"
    store = Store.from_url(db_url)
    register(store, receiver.url)
    store.insert_answers(answers_from(PATTERN))
    alerts = AlertStore(store.engine)
    phase = {"n": 1}
    receiver.script = lambda key, n: ("hang", 15.0) if phase["n"] == 1 else ("ok",)
    env = {
        "FEEDWATCH_SECRETS_KEY": KEY,
        "FEEDWATCH_HOOKS_ALLOW_PRIVATE": "1",
        "FEEDWATCH_HOOKS_TIMEOUT_S": "2.5",
        "FEEDWATCH_HOOKS_LEASE_S": "3",
        "FEEDWATCH_HOOKS_POLL_S": "0.05",
        "FEEDWATCH_HOOKS_BACKOFF_BASE_S": "0.2",
        "FEEDWATCH_HOOKS_RATE_CAP": "0",
    }
    log = tmp_path / "alerts.log"
    first = run_alerts_process(db_url, env, log)
    try:
        wait_for(lambda: len(receiver.hits) >= 1, 30, "a request in flight")
        before = statuses(alerts)
        assert before == {"sending": 1, "pending": 5}, before  # one attempt per hook at a time
        assert "delivered" not in before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    in_flight = {h.key for h in receiver.hits}

    phase["n"] = 2
    second = run_alerts_process(db_url, env, log)
    try:
        wait_for(lambda: statuses(alerts) == {"delivered": 6}, 60, "all six delivered")
        time.sleep(1.0)  # nothing more may arrive
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    assert second.returncode == 0, log.read_text()[-2000:]
    keys = {d["idempotency_key"] for d in alerts.deliveries()}
    assert dict(receiver.processed) == {k: 1 for k in keys}
    assert dict(receiver.ok_answers()) == {k: 1 for k in keys}
    hits = receiver.by_key()
    for key in in_flight:  # the interrupted ones went again, same key, same body
        assert len(hits[key]) == 2 and hits[key][0].body == hits[key][1].body
    assert all(len(hits[k]) == 1 for k in keys - in_flight)
    assert SECRET not in log.read_text() and "secret-path" not in log.read_text()
    store.close()


def flicker_scene_answers(window: float = 1.0, fps: float = 4.0) -> tuple[list[Answer], int]:
    """Answers from the scene's ground truth (target visible in any sampled frame)."""
    stable = [(2.0, 7.0), (18.0, 22.0), (30.0, 32.0)]
    flicker = [(t, t + 1.0) for t in (9.0, 11.0, 13.0, 15.0, 25.0, 35.0, 37.0)]
    spec = scripted_scene(visible=sorted(stable + flicker), duration=40.0, distractors=2, seed=3)
    targets = [o for o in spec.objects if (o.color, o.shape) == ("red", "circle")]
    pattern = ""
    for i in range(round(spec.duration / window)):
        times = [i * window + k / fps for k in range(round(window * fps))]
        pattern += "1" if any(o.visible(t) for o in targets for t in times) else "0"
    truth = sum(1 for o in targets if o.t_out - o.t_in >= 2 * window)
    return answers_from(pattern), truth


def test_flicker_makes_no_alert_storm(tmp_path: Path, receiver: Receiver) -> None:
    answers, stable_presences = flicker_scene_answers()
    assert stable_presences == 3
    store = Store.from_url(f"sqlite:///{tmp_path}/flicker.db")
    register(store, receiver.url, notify_close=False)
    service = AlertService.from_settings(store.engine, settings(), secrets=BOX)
    service.outbox.init_cursor("earliest")
    service.start()
    try:
        store.insert_answers(answers)
        assert service.drain(30.0) == 0
    finally:
        service.stop()
    incidents = AlertStore(store.engine).incidents()
    assert len(incidents) == stable_presences
    assert sum(receiver.processed.values()) == stable_presences
    opened = sorted(json.loads(h.body)["incident"]["started_at"] for h in receiver.hits)
    assert opened == [2.0, 18.0, 30.0]
    # without hysteresis the same stream storms: one incident per flicker as well
    naive = AlertEngine([Rule("r", "q-red", open_after=1, close_after=1)])
    storm = sum(1 for a in answers for e in naive.feed(a)[0] if e.kind is EventKind.OPENED)
    assert storm == stable_presences + 7
    store.close()
