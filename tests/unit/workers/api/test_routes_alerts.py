"""``/api/hooks``, ``/api/rules``, ``/api/incidents``, ``/api/deliveries``."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from connectors.store import Store
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from connectors.store.secret_box import SecretBox, new_key
from pipeline.types import Answer, StandingQuery
from workers.alerts.engine import Evaluator
from workers.api import routes_alerts
from workers.api.auth import TokenAuth
from workers.config import HooksSettings

READ = {"Authorization": "Bearer r"}
WRITE = {"Authorization": "Bearer w"}


@pytest.fixture
def client(sqlite_store: Store) -> TestClient:
    app = FastAPI()
    app.state.auth = TokenAuth.from_secrets([SecretStr("r")], [SecretStr("w")])
    app.state.hooks_settings = HooksSettings(allow_private=True)
    box = SecretBox([new_key().encode()])
    app.dependency_overrides[routes_alerts._alerts] = lambda: AlertStore(sqlite_store.engine, box)
    app.include_router(routes_alerts.router)
    for query_id in ("q", "q1"):  # rules are for stored queries
        sqlite_store.upsert_query(StandingQuery(query_id, "a red circle"))
    return TestClient(app)


def test_hook_and_rule_crud_with_scopes(client: TestClient) -> None:
    body = {"url": "http://127.0.0.1:9/hook/SECRETPATH", "secret": "s3", "name": "ops"}
    assert client.post("/api/hooks", json=body, headers=READ).status_code == 403
    made = client.post("/api/hooks", json=body, headers=WRITE)
    assert made.status_code == 201, made.text
    hook = made.json()
    assert "SECRETPATH" not in made.text and "s3" not in made.text and hook["has_secret"]
    listed = client.get("/api/hooks", headers=READ).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    rule = client.post(
        "/api/rules",
        headers=WRITE,
        json={
            "query_id": "q1",
            "condition": "score_at_least",
            "threshold": 0.4,
            "open_after": 2,
            "close_after": 3,
            "hooks": [hook["id"]],
        },
    )
    assert rule.status_code == 201, rule.text
    assert client.get("/api/rules?query_id=q1", headers=READ).json()[0]["threshold"] == 0.4
    assert client.delete(f"/api/rules/{rule.json()['id']}", headers=WRITE).status_code == 204
    assert client.delete(f"/api/hooks/{hook['id']}", headers=WRITE).status_code == 204
    assert client.delete(f"/api/hooks/{hook['id']}", headers=WRITE).status_code == 404


def test_bad_input_names_the_field(client: TestClient, sqlite_store: Store) -> None:
    r = client.post("/api/hooks", json={"url": "ftp://x/"}, headers=WRITE)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "url"]
    r = client.post(
        "/api/rules",
        headers=WRITE,
        json={"query_id": "q", "condition": "text_regex", "pattern": "("},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "pattern"]
    r = client.post("/api/rules", headers=WRITE, json={"query_id": "q", "hooks": ["nope"]})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "hooks"]
    r = client.post("/api/rules", headers=WRITE, json={"query_id": "qq"})  # a mistyped id
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "query_id"]
    assert "stored query" in r.json()["detail"][0]["msg"]
    sqlite_store.delete_query("q1")  # a removed query gets no new rules either
    assert client.post("/api/rules", headers=WRITE, json={"query_id": "q1"}).status_code == 409
    client.app.state.hooks_settings = HooksSettings(allow_private=False)
    r = client.post("/api/hooks", json={"url": "http://10.0.0.1/"}, headers=WRITE)
    assert r.status_code == 403 and "ALLOW_PRIVATE" in r.text


def test_a_secret_that_is_not_unicode_is_a_422_naming_it(client: TestClient) -> None:
    """Before: a lone surrogate half in the secret (JSON ``\\ud800``) was a 500."""
    body = '{"url": "http://127.0.0.1:9/hook", "secret": "k\\ud800ey"}'
    r = client.post("/api/hooks", content=body,
                    headers={**WRITE, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "secret"]
    assert "ey" not in str(r.json()["detail"][0].get("input"))  # the secret is not echoed
    assert client.get("/api/hooks", headers=READ).json() == []


def test_incidents_and_deliveries_are_listed(client: TestClient, sqlite_store: Store) -> None:
    hook = client.post("/api/hooks", json={"url": "http://127.0.0.1:9/h"}, headers=WRITE).json()
    client.post("/api/rules", headers=WRITE, json={"query_id": "q1", "hooks": [hook["id"]]})
    sqlite_store.insert_answers(
        [Answer("q1", "red?", "cam1", 0.0, 1.0, 1.0, "clip", "yes", True, 0.9, (), (), 0, 1.0)]
    )
    Evaluator(Outbox(sqlite_store.engine)).run_once()
    [inc] = client.get("/api/incidents?state=open", headers=READ).json()
    assert inc["camera_id"] == "cam1" and inc["state"] == "open"
    [d] = client.get("/api/deliveries?status=pending", headers=READ).json()
    assert d["incident_id"] == inc["id"] and "payload" not in d
    assert client.get("/api/deliveries?status=delivered", headers=READ).json() == []
    assert client.get("/api/deliveries?status=bogus", headers=READ).status_code == 422
