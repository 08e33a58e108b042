"""One bad alert rule is isolated (issue 26): it is reported (metric, log, ``feedwatch
alerts --once`` exit 1) and skipped, and the other rules still deliver; thresholds are
finite and ``text_regex`` runs on RE2 with a pattern length limit."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from connectors.store import Store
from connectors.store.alerts_models import AlertRuleRow
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from pipeline.alerts import model
from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import PATTERN_MAX, Condition, ConditionKind, Rule
from pipeline.errors import ConfigError
from pipeline.types import StandingQuery
from tests.unit.workers.api.scenarios import WRITE, ApiHarness
from tests.unit.workers.test_alerts_worker import PUBLIC, answers, worker
from workers.alerts.engine import Evaluator
from workers.cli.main import main


def _bad_rule_in_the_database(store: Store) -> None:
    """A score rule with a NaN threshold, written around the API (SQLite keeps NULL)."""
    with Session(store.engine) as s, s.begin():
        s.add(AlertRuleRow(id="bad", query_id="q1", condition="score_at_least",
                           threshold=float("nan"), hook_ids=[], created_at=time.time()))


def _failures(rule: str) -> float:
    value = REGISTRY.get_sample_value("feedwatch_alert_rule_failures_total", {"rule": rule})
    return value or 0.0


def test_a_bad_rule_in_the_database_is_skipped_and_the_good_one_delivers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    alerts = AlertStore(store.engine)
    hook = alerts.add_hook("https://hooks.example/x", resolve=lambda h, p: [PUBLIC])
    alerts.add_rule(Rule("good", "q1", hooks=(hook["id"],)))
    _bad_rule_in_the_database(store)
    store.insert_answers(answers("10101010"))
    outbox, before = Outbox(store.engine), _failures("bad")

    with caplog.at_level(logging.ERROR, logger="feedwatch.alerts"):
        result = Evaluator(outbox).run_once()
    assert [rule for rule, _ in result.failed] == ["bad"]
    assert result.enqueued == 4 and result.cursor == 8
    assert _failures("bad") == before + 1
    assert "alert rule bad skipped" in caplog.text

    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    delivering = worker(outbox, receiver)
    while delivering.run_once():
        pass
    delivering.close()
    assert len(sent) == 4
    store.close()


def test_alerts_once_exits_1_naming_the_rule_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDWATCH_HOOKS_WAIT_ON_EXIT_S", "0.5")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(db)
    _bad_rule_in_the_database(store)
    store.insert_answers(answers("11"))
    store.close()
    assert main(["alerts", "--db", db, "--once", "--from", "earliest"]) == 1
    assert "rule bad failed and was skipped" in capsys.readouterr().err


def test_a_rule_that_raises_while_evaluating_leaves_the_others_running() -> None:
    good = Rule("good", "q1")
    broken = Rule("broken", "q1", Condition(ConditionKind.SCORE_AT_LEAST, 0.5))
    object.__setattr__(broken.condition, "threshold", "high")  # not a number any more
    engine = AlertEngine([broken, good])
    events = [e for a in answers("1011") for e in engine.feed(replace(a, score=0.9))[0]]
    assert [e.incident.rule_id for e in events] == ["good", "good", "good"]
    assert list(engine.failed) == ["broken"]


def test_text_regex_runs_on_re2() -> None:
    catastrophic = Condition(ConditionKind.TEXT_REGEX, pattern=r"^(\w+\s?)*!$")
    assert type(model._compile(catastrophic.pattern)).__module__.split(".")[0] == "re2"
    assert catastrophic.holds(answers("1")[0], None) is False
    with pytest.raises(ConfigError, match="RE2"):  # Python's re takes a backreference
        Condition(ConditionKind.TEXT_REGEX, pattern=r"(yes)\1")
    with pytest.raises(ConfigError, match=str(PATTERN_MAX)):
        Condition(ConditionKind.TEXT_REGEX, pattern="a" * (PATTERN_MAX + 1))
    with pytest.raises(ConfigError, match="finite"):
        Condition(ConditionKind.SCORE_AT_LEAST, threshold=float("inf"))


@pytest.mark.parametrize(
    "body",
    [
        '{"query_id": "q1", "condition": "score_at_least", "threshold": NaN}',
        '{"query_id": "q1", "condition": "score_at_least", "threshold": Infinity}',
        '{"query_id": "q1", "condition": "text_regex", "pattern": "(yes)\\\\1"}',
        json.dumps({"query_id": "q1", "condition": "text_regex", "pattern": "a{2}" * 100}),
        '{"query_id": "q1", "condition": "text_regex", "pattern": "a{4294967296}"}',
    ],
)
def test_the_api_refuses_rules_that_could_not_run(tmp_path: Path, body: str) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'api.db'}")
    store.upsert_query(StandingQuery("q1", "a red circle"))
    harness = ApiHarness(store)
    resp = harness._client.post("/api/rules", content=body, headers={
        "Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"})
    stored = harness.call("GET", "/api/rules", WRITE).json()
    store.close()
    if "4294967296" in body:  # RE2 takes it (Python's re overflowed: a 500)
        assert resp.status_code == 201, resp.text
    else:
        assert resp.status_code == 422, resp.text
        assert stored == []


@pytest.mark.parametrize(("limits", "field"), [
    ({"cooldown_s": -5.0}, "hook.cooldown_s"), ({"cooldown_s": float("nan")}, "hook.cooldown_s"),
    ({"rate_cap": -1}, "hook.rate_cap"), ({"rate_period_s": 0.0}, "hook.rate_period_s"),
])
def test_a_hook_whose_limits_would_hold_back_every_notification_is_refused(
    tmp_path: Path, limits: dict[str, float], field: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """Checked where every hook is registered (the CLI passed these to the store as given)."""
    alerts = AlertStore(Store.from_url(f"sqlite:///{tmp_path / 'h.db'}").engine)
    with pytest.raises(ConfigError) as info:
        alerts.add_hook("https://hooks.example/x", resolve=lambda h, p: [PUBLIC], **limits)
    assert info.value.field == field and alerts.hooks() == []
    code = main(["hooks", "add", "https://hooks.example/x", "--db",
                 f"sqlite:///{tmp_path / 'cli.db'}", "--rate-cap", "-1"])
    assert code == 2 and capsys.readouterr().err.startswith("error: hook.rate_cap: -1")
