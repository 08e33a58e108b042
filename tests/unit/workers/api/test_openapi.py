"""The OpenAPI document is exact: what the API returns and enforces is what it says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from connectors.store import Store
from tests.unit.workers.api.scenarios import READ, WRITE, answer, settings
from workers.api.app import create_app

METHODS = ("get", "put", "post", "patch", "delete")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items() if m in METHODS]


def patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in patterns(value)]
    if isinstance(node, list):
        return [p for item in node for p in patterns(item)]
    return []


@pytest.fixture
def client(sqlite_store: Store) -> TestClient:
    return TestClient(create_app(settings(page_max=3), sqlite_store))


def test_every_status_the_app_adds_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for method, path, op in operations(spec):
        codes = set(op["responses"])
        schemes = {name for req in op.get("security", []) for name in req}
        if path.startswith("/api/"):
            assert {"401", "503"} <= codes, (method, path)
        if "writeToken" in schemes:
            assert "403" in codes, (method, path)
        if "requestBody" in op:
            assert "400" in codes, (method, path)


def test_the_documented_statuses_are_the_ones_returned(client: TestClient) -> None:
    headers = {**auth(WRITE), "Content-Type": "application/json"}
    unparsable = client.post("/api/queries", content=b"\x9b\x01", headers=headers)
    assert unparsable.status_code == 400 and isinstance(unparsable.json()["detail"], str)
    broken = client.post("/api/queries", content=b"{not json", headers=headers)
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    assert (
        client.post("/api/queries", json={"question": "q?"}, headers=auth(READ)).status_code == 403
    )
    assert client.post("/api/queries", json={"question": "q?"}).status_code == 401
    assert client.delete("/api/hooks/none", headers=auth(WRITE)).status_code == 404
    assert client.delete("/api/rules/none", headers=auth(WRITE)).status_code == 404


def test_every_pattern_is_one_python_and_json_schema_agree_on(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    found = patterns(spec)
    assert len(found) >= 5
    for pattern in found:
        re.compile(pattern)
        Draft202012Validator.check_schema({"type": "string", "pattern": pattern})


def test_question_and_camera_rules_are_in_the_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["components"]["schemas"]["QueryCreate"]
    validator = Draft202012Validator(body)
    for bad in (
        {"question": " \u0301 "},
        {"question": "a\x07b"},
        {"question": "q", "cameras": [" x"]},
    ):
        assert list(validator.iter_errors(bad)), bad
        assert client.post("/api/queries", json=bad, headers=auth(WRITE)).status_code == 422
    assert not list(validator.iter_errors({"question": "is the gate open?", "cameras": ["*"]}))
    source = spec["components"]["schemas"]["CameraIn"]["properties"]["source"]["pattern"]
    assert re.search(source, "rtsp://cam/1") and not re.search(source, "/etc/passwd")


def test_a_page_larger_than_page_max_is_cut_to_it(client: TestClient, sqlite_store: Store) -> None:
    sqlite_store.insert_answers([answer("q", "cam", 10.0 + i) for i in range(5)])
    page = client.get("/api/answers", params={"limit": 1000}, headers=auth(READ)).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = client.get(
        "/api/answers", params={"limit": 3, "cursor": page["next_cursor"]}, headers=auth(READ)
    ).json()
    assert [a["window_end"] for a in rest["items"]] == [11.0, 10.0]
    limit = next(
        p
        for p in spec_of(client)["paths"]["/api/answers"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 10000


def test_local_sources_allowed_by_settings_drop_the_pattern(sqlite_store: Store) -> None:
    app = create_app(settings(allow_local_sources=True), sqlite_store)
    spec = TestClient(app).get("/openapi.json").json()
    assert "pattern" not in spec["components"]["schemas"]["CameraIn"]["properties"]["source"]


def spec_of(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec
