"""Hook secrets and the stored link key at rest: the rows hold no plaintext, deliveries
are still signed with the secret as given, nothing secret is stored without a key, and
``feedwatch secrets rotate`` reseals every row under the new key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.hooks.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from connectors.store import Store
from connectors.store.alerts_repo import AlertStore
from connectors.store.clips import link_key
from connectors.store.secret_box import PREFIX, new_key
from pipeline.alerts.model import Rule
from pipeline.errors import ConfigError
from tests.unit.workers.sealed_hooks import PUBLIC, box, deliver, sqlite_store
from workers.cli.main import main

SECRET = "hmac-S3CRET-of-the-receiver"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)



def raw_rows(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        hooks = conn.execute(sa.text("SELECT secret FROM hooks")).scalars().all()
        state = conn.execute(sa.text("SELECT data FROM alert_state WHERE kind = 'secret'"))
        return [str(v) for v in hooks] + [str(v) for v in state.scalars().all()]


def add_hook(alerts: AlertStore) -> str:
    hook = alerts.add_hook("https://hooks.example/x", secret=SECRET, resolve=lambda h, p: [PUBLIC])
    alerts.add_rule(Rule("r1", "q1", hooks=(hook["id"],)))
    return str(hook["id"])


def test_the_row_is_sealed_and_the_delivery_is_signed_with_the_secret(store: Store) -> None:
    key = box(new_key())
    add_hook(AlertStore(store.engine, key))
    [row] = raw_rows(store)
    assert row.startswith(PREFIX) and SECRET not in row
    [request], delivery = deliver(store, key)
    assert delivery["status"] == "delivered"
    headers = request.headers
    assert verify(SECRET, headers[TIMESTAMP_HEADER], request.content, headers[SIGNATURE_HEADER])


def test_without_a_key_a_secret_is_refused_naming_the_setting(store: Store) -> None:
    alerts = AlertStore(store.engine)
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY") as err:
        add_hook(alerts)
    assert SECRET not in str(err.value) and alerts.hooks() == []
    alerts.add_hook("https://hooks.example/unsigned", resolve=lambda h, p: [PUBLIC])
    assert [h["has_secret"] for h in alerts.hooks()] == [False]


def test_a_worker_without_the_key_sends_nothing_and_says_why(store: Store) -> None:
    add_hook(AlertStore(store.engine, box(new_key())))
    sent, delivery = deliver(store, None)
    assert sent == [] and delivery["status"] == "pending"
    assert "FEEDWATCH_SECRETS_KEY" in delivery["last_error"]
    assert SECRET not in delivery["last_error"]


def test_the_stored_link_key_is_sealed_and_needs_a_key(store: Store) -> None:
    with pytest.raises(ConfigError, match="FEEDWATCH_LINK_KEY"):
        link_key(store.engine)
    key = box(new_key())
    first = link_key(store.engine, secrets=key)
    assert len(first) >= 32 and link_key(store.engine, secrets=key) == first
    [row] = raw_rows(store)
    assert PREFIX in row and first.decode() not in row


def test_rotate_reseals_every_row_under_the_new_key(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = new_key(), new_key()
    add_hook(AlertStore(store.engine, box(old)))
    stored_link = link_key(store.engine, secrets=box(old))
    db = ["--db", str(store.engine.url)]
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", f"{new},{old}")
    assert main(["secrets", "status", "--json", *db]) == 0
    assert '"by_key":[0,2]' in capsys.readouterr().out
    assert main(["secrets", "rotate", *db]) == 0
    assert "resealed 2 sealed" in capsys.readouterr().err
    with pytest.raises(ConfigError):  # the old key alone opens nothing now
        box(old).open(AlertStore(store.engine).hook_rows()[0].secret or "")
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new)  # the old key dropped
    assert main(["secrets", "status", *db]) == 0
    assert link_key(store.engine, secrets=box(new)) == stored_link
    [request], delivery = deliver(store, box(new))
    headers = request.headers
    assert verify(SECRET, headers[TIMESTAMP_HEADER], request.content, headers[SIGNATURE_HEADER])
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())  # a key that opens nothing
    assert main(["secrets", "status", *db]) == 2
    assert "2 open with none" in capsys.readouterr().err


def test_the_api_without_a_key_refuses_a_hook_secret_and_says_which_setting(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.workers.api.scenarios import ApiHarness

    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.setenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", "true")
    harness = ApiHarness(store)
    body = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    refused = harness.call("POST", "/api/hooks", json=body)
    assert refused.status_code == 422 and "FEEDWATCH_SECRETS_KEY" in refused.text
    assert SECRET not in refused.text and raw_rows(store) == []
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())
    made = ApiHarness(store).call("POST", "/api/hooks", json=body)
    assert made.status_code == 201, made.text
    [row] = raw_rows(store)
    assert row.startswith(PREFIX) and SECRET not in row
