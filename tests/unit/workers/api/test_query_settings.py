"""A query's settings are checked at the API by its answerer's own settings model, with
the bounds the bus checks too (issue 26): nothing a worker would fail on is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness


def _refused(h: ApiHarness, body: dict[str, Any], status: int = 422) -> str:
    """POST ``body`` (raw JSON, NaN allowed): refused with ``status`` naming settings,
    and nothing stored. Returns the message."""
    resp = h._client.post(
        "/api/queries",
        content=json.dumps({"question": "q", **body}),
        headers={"Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"},
    )
    assert resp.status_code == status, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "settings"]
    assert h.call("GET", "/api/queries", READ).json() == []
    return str(error["msg"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"settings": {"mode": "bogus"}}, "settings.mode"),
        ({"settings": {"colour": "red"}}, "settings.colour"),
        ({"settings": {"threshold": 5}}, "settings.threshold"),
        ({"settings": {"threshold": float("nan")}}, "settings.threshold"),
        ({"settings": {"logit_scale": float("inf")}}, "settings.logit_scale"),
        ({"settings": {"alpha": 0.3}}, "settings.alpha"),
        ({"settings": {"model": "/etc", "device": "cuda:7"}}, "settings.model"),
        ({"answerer": "vlm", "settings": {"device": "cuda:7"}}, "settings.device"),
        ({"answerer": "vlm", "settings": {"batch_size": 1024}}, "settings.batch_size"),
        ({"answerer": "cascade", "settings": {"vlm": {"model": "/etc"}}}, "settings.vlm.model"),
        ({"answerer": "cascade", "settings": {"clip": {"mode": "x"}}}, "settings.clip.mode"),
    ],
)
def test_settings_the_answerer_would_refuse_are_a_422_naming_the_field(
    harness: ApiHarness, body: dict[str, Any], named: str
) -> None:
    assert named in _refused(harness, body)


def test_deep_or_large_settings_are_refused_before_anything_is_stored(
    harness: ApiHarness,
) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(500):
        inner["a"] = {}
        inner = inner["a"]
    assert "deep" in _refused(harness, {"settings": deep})
    prompt = "x" * 20_000 + "{question}"
    assert "bytes" in _refused(harness, {"answerer": "vlm", "settings": {"prompt": prompt}})
    assert harness.call("GET", "/api/queries", READ).status_code == 200


def test_another_answerers_settings_conflict_and_leave_the_query_as_it_was(
    harness: ApiHarness,
) -> None:
    _refused(harness, {"answerer": "clip", "settings": {"prompt": "{question}"}}, 409)
    qid = harness.create(settings={"mode": "margin"})["id"]
    resp = harness.call("PATCH", f"/api/queries/{qid}", json={"answerer": "vlm"})
    assert resp.status_code == 409, resp.text
    assert "settings.mode" in resp.json()["detail"][0]["msg"]
    stored = harness.call("GET", f"/api/queries/{qid}", READ).json()
    assert (stored["answerer"], stored["version"]) == ("clip", 1)
    ok = harness.call("PATCH", f"/api/queries/{qid}",
                      json={"answerer": "vlm", "settings": {"max_new_tokens": 8}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["settings"] == {"max_new_tokens": 8}


def test_the_schema_lists_each_answerers_own_settings(harness: ApiHarness) -> None:
    schema = harness.call("GET", "/openapi.json", READ).json()
    settings = schema["components"]["schemas"]["QueryCreate"]["properties"]["settings"]
    by_title = {s["title"]: s for s in settings["anyOf"]}
    assert {"ClipSettings", "VlmSettings", "CascadeSettings"} <= set(by_title)
    assert not {"model", "device", "batch_size"} & set(by_title["VlmSettings"]["properties"])
    assert by_title["ClipSettings"]["additionalProperties"] is False
