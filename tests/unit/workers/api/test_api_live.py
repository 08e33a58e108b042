"""Live parts of the API: camera status, the SSE notifier, metrics, the page, CORS, config."""

from __future__ import annotations

import logging
import time

import pytest

from connectors.store import Store
from connectors.video.status import StatusEvent, StreamStatus
from tests.unit.workers.api.live_scenarios import SseReader
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness, answer
from workers.config import load_settings
from workers.ops import metrics


def test_cameras_show_live_status_and_last_segment(harness: ApiHarness) -> None:
    harness.store.upsert_camera("dock", "rtsp://cams/dock")
    harness.store.upsert_camera("gate", "rtsp://cams/gate")
    harness.registry.observe(StatusEvent("dock", StreamStatus.CONNECTED, 1_700_000_000.0))
    harness.registry.saw_segment("dock", 1_700_000_012.0)
    harness.registry.saw_stream("dock", codec="h264", width=640, height=360, fps=None)
    harness.registry.observe(
        StatusEvent("dock", StreamStatus.STALLED, 1_700_000_020.0, "no packet for 10 s")
    )
    harness.registry.observe(StatusEvent("yard", StreamStatus.RECONNECTING, 1_700_000_030.0))
    harness.store.insert_answers([answer("q", "gate", 1_700_000_040.0)])
    cams = {c["id"]: c for c in harness.call("GET", "/api/cameras", READ).json()}
    assert set(cams) == {"dock", "gate", "yard"}
    dock = cams["dock"]
    assert (dock["status"], dock["status_since"], dock["last_segment_at"]) == (
        "stalled",
        1_700_000_020.0,
        1_700_000_012.0,
    )
    assert dock["detail"] == "no packet for 10 s" and dock["source"] == "rtsp://cams/dock"
    assert dock["stream"] == {"codec": "h264", "width": 640, "height": 360, "fps": None,
                              "gop_s": None}
    assert cams["gate"]["stream"] is None  # nothing heard of its stream
    assert (cams["gate"]["status"], cams["gate"]["last_answer_at"]) == ("unknown", 1_700_000_040.0)
    assert cams["yard"]["status"] == "reconnecting"
    # a camera the registry heard from may be subscribed to
    assert (
        harness.call(
            "POST", "/api/queries", json={"question": "q", "cameras": ["yard"]}
        ).status_code
        == 201
    )


def test_notifier_wakes_the_stream_before_the_poll_interval(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"sse_poll_s": 30.0, "sse_keepalive_s": 0.3})
    with h.served() as url:
        reader = SseReader(f"{url}/api/answers/stream", READ)
        try:
            assert reader.connected.wait(10)
            time.sleep(0.5)  # the stream is now waiting on the notifier
            h.store.insert_answers([answer("q1", "dock", 5.0)])
            started = time.monotonic()
            h.notifier.notify()
            assert len(reader.wait_for(1, timeout=10)) == 1
            assert time.monotonic() - started < 2.0
        finally:
            reader.close()


def test_metrics_expose_pipeline_counters(harness: ApiHarness) -> None:
    metrics.SEGMENTS.labels(camera="dock").inc()
    metrics.DEAD_LETTERS.labels(stage="decode").inc()
    metrics.ANSWER_LATENCY.labels(answerer="clip").observe(0.2)
    harness.call("GET", "/api/queries", READ)
    text = harness.call("GET", "/metrics", READ).text
    for name in (
        'feedwatch_segments_total{camera="dock"}',
        "feedwatch_frames_encoded_total",
        "feedwatch_answers_total",
        'feedwatch_dead_letters_total{stage="decode"}',
        "feedwatch_answer_latency_seconds_bucket",
        "feedwatch_api_request_seconds_count",
    ):
        assert name in text, name
    assert 'route="/api/queries"' in text


def test_dashboard_page_and_openapi(harness: ApiHarness) -> None:
    page = harness.call("GET", "/", None)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'id="subscribe"' in page.text
    assert harness.call("GET", "/static/app.js", None).status_code == 200
    spec = harness.call("GET", "/openapi.json", None).json()
    for path in (
        "/api/cameras",
        "/api/queries",
        "/api/queries/{query_id}",
        "/api/answers",
        "/api/answers/stream",
        "/api/answers/{answer_id}/evidence/{index}.jpg",
        "/health",
        "/ready",
        "/metrics",
        "/api/hooks",
        "/api/rules",
        "/api/incidents",
    ):
        assert path in spec["paths"], path
    assert {"readToken", "writeToken"} <= set(spec["components"]["securitySchemes"])
    post = spec["paths"]["/api/queries"]["post"]
    assert post["security"] == [{"writeToken": []}]
    assert {"400", "401", "403", "409", "422", "503"} <= set(post["responses"])
    assert spec["paths"]["/api/queries"]["get"]["security"] == [{"readToken": []}]


def test_open_mode_allows_everything_and_warns(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="workers.api.auth"):
        h = ApiHarness(sqlite_store, tokens=False)
    assert "auth is OFF" in caplog.text
    assert h.call("POST", "/api/queries", None, json={"question": "q"}).status_code == 201
    assert h.call("GET", "/api/queries", None).status_code == 200


def test_cors_only_for_configured_origins(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"cors_origins": ("https://ops.example",)})
    preflight = {
        "Origin": "https://ops.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = h._client.options("/api/queries", headers=preflight)
    assert ok.headers["access-control-allow-origin"] == "https://ops.example"
    other = h._client.options(
        "/api/queries", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_tokens_come_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWATCH_API_READ_TOKENS", "r1, r2,")
    monkeypatch.setenv("FEEDWATCH_API_WRITE_TOKENS", WRITE)
    monkeypatch.setenv("FEEDWATCH_API_CORS_ORIGINS", "https://a.example,https://b.example")
    api = load_settings().api
    assert [t.get_secret_value() for t in api.read_tokens] == ["r1", "r2"]
    assert [t.get_secret_value() for t in api.write_tokens] == [WRITE]
    assert api.cors_origins == ("https://a.example", "https://b.example")
    assert "r1" not in repr(api)


def test_register_camera_then_subscribe_to_it(harness: ApiHarness) -> None:
    body = {"source": "rtsp://admin:hunter2@10.0.0.5:554/stream?token=abc"}
    assert harness.call("PUT", "/api/cameras/gate-2", READ, json=body).status_code == 403
    made = harness.call("PUT", "/api/cameras/gate-2", WRITE, json=body)
    assert made.status_code == 200, made.text
    assert made.json()["source"] == "rtsp://***@10.0.0.5:554/stream"
    listed = harness.call("GET", "/api/cameras", READ)
    assert "hunter2" not in listed.text and "token=abc" not in listed.text
    assert [c["id"] for c in listed.json()] == ["gate-2"]
    bad = harness.call("PUT", "/api/cameras/bad id!", WRITE, json={})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "camera_id"]
    created = harness.call("POST", "/api/queries", json={"question": "q", "cameras": ["gate-2"]})
    assert created.status_code == 201


def test_cameras_with_answers_are_known(harness: ApiHarness) -> None:
    harness.store.insert_answers([answer("q", "loading-bay", 10.0)])
    assert [c["id"] for c in harness.call("GET", "/api/cameras", READ).json()] == ["loading-bay"]
    created = harness.call(
        "POST", "/api/queries", json={"question": "q", "cameras": ["loading-bay"]}
    )
    assert created.status_code == 201
