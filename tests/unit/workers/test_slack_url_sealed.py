"""A Slack hook's URL is its credential, so it is sealed at rest like a hook secret: the
row holds no plaintext URL, deliveries still post to the real URL, ``feedwatch secrets
rotate``/``status`` cover it, and without a key a Slack hook is refused naming
``FEEDWATCH_SECRETS_KEY`` (the store, the API) and a worker sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.alerts_repo import AlertStore
from connectors.store.secret_box import PREFIX, new_key
from pipeline.alerts.model import Rule
from pipeline.errors import ConfigError
from tests.unit.workers.sealed_hooks import PUBLIC, box, deliver, sqlite_store
from workers.cli.main import main

TOKEN = "XyZsecretTOKEN42"
SLACK = f"https://hooks.slack.com/services/T0001/B0002/{TOKEN}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)



def resolve(host: str, port: int) -> list[str]:
    return [PUBLIC]


def stored_url(store: Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT url FROM hooks")).scalar_one())


def add_slack(alerts: AlertStore) -> str:
    hook = alerts.add_hook(SLACK, type="slack", resolve=resolve)
    alerts.add_rule(Rule("r1", "q1", hooks=(hook["id"],)))
    return str(hook["id"])


def posted_to(request: httpx.Request) -> str:
    """The URL the request was meant for (the sender pins the checked address; ``Host``
    keeps the name)."""
    return f"{request.url.scheme}://{request.headers['Host']}{request.url.raw_path.decode()}"


def test_the_row_holds_no_plaintext_url_and_delivery_posts_to_the_real_one(store: Store) -> None:
    key = box(new_key())
    alerts = AlertStore(store.engine, key)
    add_slack(alerts)
    row = stored_url(store)
    assert row.startswith(PREFIX) and TOKEN not in row and "hooks.slack.com" not in row
    assert [h["url"] for h in alerts.hooks()] == ["https://hooks.slack.com/…"]
    [request], delivery = deliver(store, key)
    assert delivery["status"] == "delivered"
    assert posted_to(request) == SLACK
    assert "text" in json.loads(request.content)
    assert TOKEN not in json.dumps(AlertStore(store.engine, key).deliveries(), default=str)


def test_a_listing_without_the_key_still_works_and_shows_no_url(store: Store) -> None:
    add_slack(AlertStore(store.engine, box(new_key())))
    [info] = AlertStore(store.engine).hooks()
    assert info["url"] == "(sealed)" and info["type"] == "slack"


def test_without_a_key_a_slack_hook_is_refused_naming_the_setting(store: Store) -> None:
    alerts = AlertStore(store.engine)
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY") as err:
        add_slack(alerts)
    assert TOKEN not in str(err.value) and alerts.hooks() == []
    alerts.add_hook("https://hooks.example/plain", resolve=resolve)  # a webhook needs none
    assert [h["type"] for h in alerts.hooks()] == ["webhook"]


def test_a_worker_without_the_key_sends_nothing_and_says_why(store: Store) -> None:
    add_slack(AlertStore(store.engine, box(new_key())))
    sent, delivery = deliver(store, None)
    assert sent == [] and delivery["status"] == "pending"
    assert "FEEDWATCH_SECRETS_KEY" in delivery["last_error"] and TOKEN not in delivery["last_error"]


def test_rotate_reseals_the_url_under_the_new_key(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = new_key(), new_key()
    add_slack(AlertStore(store.engine, box(old)))
    db = ["--db", str(store.engine.url)]
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", f"{new},{old}")
    assert main(["secrets", "status", "--json", *db]) == 0
    assert '"stored":1,"by_key":[0,1]' in capsys.readouterr().out
    assert main(["secrets", "rotate", *db]) == 0
    assert "resealed 1 sealed" in capsys.readouterr().err
    with pytest.raises(ConfigError):  # the old key alone opens nothing now
        box(old).open(stored_url(store))
    assert TOKEN not in stored_url(store)
    [request], delivery = deliver(store, box(new))
    assert delivery["status"] == "delivered" and posted_to(request) == SLACK


def test_the_api_without_a_key_refuses_a_slack_hook_and_says_which_setting(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.workers.api.scenarios import ApiHarness

    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.setenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", "true")
    body = {"url": f"http://127.0.0.1:9/services/T/B/{TOKEN}", "type": "slack"}
    refused = ApiHarness(store).call("POST", "/api/hooks", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "url"]
    assert "FEEDWATCH_SECRETS_KEY" in refused.text and TOKEN not in refused.text
    assert AlertStore(store.engine).hooks() == []
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())
    harness = ApiHarness(store)
    made = harness.call("POST", "/api/hooks", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["url"] == "http://127.0.0.1:9/…" and TOKEN not in stored_url(store)
    listed = harness.call("GET", "/api/hooks")
    assert [h["url"] for h in listed.json()] == ["http://127.0.0.1:9/…"]
