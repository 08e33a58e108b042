"""The evaluator and delivery worker over a SQLite file store, hooks on httpx.MockTransport."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest

from connectors.hooks.delivery import DeliverySchedule, Sender
from connectors.store import Store
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore, PolicyDefaults
from connectors.store.secret_box import SecretBox, new_key
from pipeline.alerts.model import Rule
from pipeline.errors import ConfigError
from pipeline.types import Answer
from workers.alerts.delivery import DeliveryWorker
from workers.alerts.engine import Evaluator
from workers.alerts.run import RunHooks, ensure_run_alerts
from workers.cli.commands.hooks import parse_condition
from workers.config import HooksSettings

PUBLIC = "93.184.216.34"
BOX = SecretBox([new_key().encode()])


def answers(pattern: str, camera: str = "cam1", start: int = 0) -> list[Answer]:
    return [
        Answer(
            "q1",
            "red?",
            camera,
            float(i),
            i + 1.0,
            i + 1.0,
            "clip",
            "yes" if c == "1" else "no",
            c == "1",
            None,
            (),
            (),
            0,
            1.0,
        )
        for i, c in enumerate(pattern, start=start)
    ]


@pytest.fixture
def store(tmp_path: Path):
    s = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    yield s
    s.close()


def setup(store: Store, **rule_kw) -> tuple[AlertStore, str]:
    alerts = AlertStore(store.engine, BOX)
    hook = alerts.add_hook("https://hooks.example/x", secret="k", resolve=lambda h, p: [PUBLIC])
    kw = {"open_after": 1, "close_after": 1, **rule_kw}
    alerts.add_rule(Rule("r1", "q1", hooks=(hook["id"],), **kw))
    return alerts, hook["id"]


def worker(outbox: Outbox, handler, **policy) -> DeliveryWorker:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = Sender(client, resolve=lambda h, p: [PUBLIC])
    return DeliveryWorker(
        outbox,
        sender,
        DeliverySchedule(**{"base": 0.01, **policy}),
        lease_s=5.0,
        rng=random.Random(0),
        secrets=BOX,
    )


def test_evaluating_twice_enqueues_once_and_moves_the_cursor(store: Store) -> None:
    alerts, _ = setup(store, notify_close=True)
    outbox = Outbox(store.engine)
    store.insert_answers(answers("0110"))
    first = Evaluator(outbox).run_once()
    assert (first.answers, first.events, first.enqueued, first.cursor) == (4, 2, 2, 4)
    assert Evaluator(outbox).run_once().answers == 0
    store.insert_answers(answers("0110"))  # redelivered answers are dropped by the store
    store.insert_answers(answers("11", start=4))
    assert Evaluator(outbox).run_once().events == 1
    assert [d["event"] for d in alerts.deliveries()] == ["opened", "closed", "opened"]
    assert [i["state"] for i in alerts.incidents()] == ["open", "closed"]


def test_an_open_incident_keeps_its_latest_hit(store: Store) -> None:
    alerts, _ = setup(store, close_after=3)
    store.insert_answers(answers("0111"))
    Evaluator(Outbox(store.engine)).run_once()
    [opened] = alerts.incidents()
    assert (opened["state"], opened["opened_at"], opened["last_hit_at"]) == ("open", 2.0, 4.0)
    store.insert_answers(answers("110", start=4))
    Evaluator(Outbox(store.engine)).run_once()
    [still] = alerts.incidents()
    assert (still["state"], still["last_hit_at"]) == ("open", 6.0)
    store.insert_answers(answers("00", start=7))
    Evaluator(Outbox(store.engine)).run_once()
    [closed] = alerts.incidents()
    assert (closed["state"], closed["last_hit_at"], closed["closed_at"]) == ("closed", 6.0, 9.0)


def test_latest_cursor_skips_history(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("111"))
    outbox = Outbox(store.engine)
    assert outbox.init_cursor("latest") == 3
    assert Evaluator(outbox).run_once().answers == 0 and alerts.deliveries() == []


def test_suppressed_notifications_are_recorded_not_sent(store: Store) -> None:
    alerts = AlertStore(store.engine)
    hook = alerts.add_hook("https://hooks.example/x", rate_cap=1, resolve=lambda h, p: [PUBLIC])
    alerts.add_rule(Rule("r1", "q1", hooks=(hook["id"],)))
    store.insert_answers(answers("1") + answers("1", camera="cam2"))
    Evaluator(Outbox(store.engine)).run_once()
    rows = sorted(alerts.deliveries(), key=lambda d: d["id"])
    assert [d["status"] for d in rows] == ["pending", "suppressed"]
    assert rows[1]["last_error"].startswith("rate cap")
    assert Outbox(store.engine).pending() == 1


def test_lease_blocks_a_second_claim_until_it_expires(store: Store) -> None:
    setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    now = time.time()
    [c] = outbox.claim(10, lease_s=30, now=now)
    assert outbox.claim(10, lease_s=30, now=now + 1) == []
    [again] = outbox.claim(10, lease_s=30, now=now + 31)  # the first worker "died"
    assert again.key == c.key
    kw = dict(status=outbox_status("delivered"), started_at=now, duration=0.1)
    assert outbox.settle(c, **kw) is False  # lost its lease: cannot record
    assert outbox.settle(again, **kw) is True
    assert outbox.pending() == 0


def outbox_status(name: str):
    from connectors.store.alerts_models import DeliveryStatus

    return DeliveryStatus(name)


def test_4xx_goes_dead_at_once_with_the_error(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    w = worker(outbox, lambda r: httpx.Response(410, text="gone"))
    assert w.run_once() == 1
    [d] = alerts.deliveries()
    assert d["status"] == "dead" and d["attempts"] == 1 and d["last_error"] == "HTTP 410: gone"
    w.close()


def test_exhausted_retries_go_dead_with_last_error(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    w = worker(outbox, lambda r: httpx.Response(503, text="busy"), max_attempts=3)
    for _ in range(100):
        w.run_once()
        if outbox.pending() == 0:
            break
        time.sleep(0.01)
    [d] = alerts.deliveries()
    assert d["status"] == "dead" and d["attempts"] == 3
    assert d["last_error"] == "HTTP 503: busy; gave up after 3 attempts"
    assert [a["outcome"] for a in alerts.attempts()] == ["retry", "retry", "dead"]
    w.close()


def test_closing_waits_for_its_opening(store: Store) -> None:
    alerts, _ = setup(store, notify_close=True)
    store.insert_answers(answers("10"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    claimed = outbox.claim(10, lease_s=30)
    assert [c.message.event for c in claimed] == ["opened"]


def test_removing_a_hook_kills_its_pending_deliveries(store: Store) -> None:
    alerts, hook_id = setup(store)
    store.insert_answers(answers("1"))
    Evaluator(Outbox(store.engine)).run_once()
    assert alerts.remove_hook(hook_id)
    [d] = alerts.deliveries()
    assert d["status"] == "dead" and d["last_error"] == "hook removed"
    assert alerts.hooks() == [] and not alerts.remove_hook(hook_id)


def test_hooks_are_checked_and_listed_without_secrets(store: Store) -> None:
    alerts = AlertStore(store.engine, BOX)
    with pytest.raises(ConfigError, match="ALLOW_PRIVATE"):
        alerts.add_hook("http://127.0.0.1:8080/x")
    with pytest.raises(ConfigError, match="hook.type"):
        alerts.add_hook("https://hooks.example/", type="email")
    alerts.add_hook(
        "https://hooks.slack.com/services/T/B/SECRETPATH",
        type="slack",
        secret="sekret",
        resolve=lambda h, p: [PUBLIC],
    )
    [info] = alerts.hooks()
    assert "SECRETPATH" not in str(info) and "sekret" not in str(info) and info["has_secret"]
    with pytest.raises(ConfigError, match="rule.hooks"):
        alerts.add_rule(Rule("r", "q1", hooks=("nope",)))


def test_run_alerts_registration_is_idempotent(store: Store) -> None:
    hooks = RunHooks(("https://hooks.example/run",), secret="s", open_after=2, close_after=3)
    settings = HooksSettings(allow_private=False)
    for _ in range(2):
        ensure_run_alerts(store.engine, settings, hooks, ["q1", "q2"], resolve=lambda *_: [PUBLIC],
                          secrets=BOX)
    alerts = AlertStore(store.engine)
    assert len(alerts.hooks()) == 1
    rules = alerts.rules()
    assert sorted(r["query_id"] for r in rules) == ["q1", "q2"]
    assert {(r["open_after"], r["close_after"]) for r in rules} == {(2, 3)}


def test_policy_defaults_apply_to_hooks_without_their_own(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("1", "a") + answers("1", "b") + answers("1", "c"))
    Evaluator(Outbox(store.engine, PolicyDefaults(rate_cap=2))).run_once()
    assert sorted(d["status"] for d in alerts.deliveries()) == ["pending", "pending", "suppressed"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("matched", "matched"),
        ("changed", "changed"),
        ("score>=0.25", "score_at_least"),
        ("regex:\\bforklift\\b", "text_regex"),
    ],
)
def test_cli_conditions(text: str, kind: str) -> None:
    assert parse_condition(text).kind.value == kind


@pytest.mark.parametrize("text", ["score>=high", "sometimes", "regex:("])
def test_cli_bad_conditions(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_condition(text)


def test_id_gaps_wait_together_then_pass() -> None:
    from types import SimpleNamespace

    from connectors.store.alerts_rows import contiguous

    rows = [SimpleNamespace(id=i) for i in (1, 2, 4, 5, 8)]
    seen: list[int] = []

    def hold(expected: int) -> bool:
        seen.append(expected)
        return expected == 3  # the gap before id 4 is still young, the one before 8 is not

    assert [r.id for r in contiguous(rows, 0, hold)] == [1, 2]
    assert seen == [3, 6]  # both gaps registered at once
    assert [r.id for r in contiguous(rows, 0, lambda e: False)] == [1, 2, 4, 5, 8]
    assert [r.id for r in contiguous(rows, 0, None)] == [1, 2, 4, 5, 8]


def test_settle_refuses_a_transition_the_status_table_forbids(store: Store) -> None:
    setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    [c] = outbox.claim(1, lease_s=30)
    with pytest.raises(ValueError, match="suppressed"):
        outbox.settle(c, status=outbox_status("suppressed"), started_at=0.0, duration=0.0)


def test_a_delivery_older_than_max_age_is_dead_without_sending(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    sent = []
    w = worker(outbox, lambda r: sent.append(r) or httpx.Response(200), max_age=0.05)
    time.sleep(0.1)  # e.g. the worker was down longer than the max age
    w.run_once()
    [d] = alerts.deliveries()
    assert d["status"] == "dead" and d["last_error"].startswith("expired") and sent == []
    w.close()


def test_an_unexpected_sender_error_is_recorded_and_retried(store: Store) -> None:
    alerts, _ = setup(store)
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    w = worker(outbox, lambda r: httpx.Response(200))

    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    w.sender.attempt = broken  # type: ignore[method-assign]
    w.run_once()
    [d] = alerts.deliveries()
    assert d["status"] == "pending" and d["last_error"] == "internal: RuntimeError"
    w.close()
