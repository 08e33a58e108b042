"""Camera sources are parsed completely when registered, and a row stored before that
is listed flagged instead of failing the list (issue 26)."""

from __future__ import annotations

import pytest

from connectors.store import Store
from tests.unit.workers.api.scenarios import READ, ApiHarness

BAD = ["rtsp://h:99999/", "http://[::1/x", "rtsp://h:0/", "rtsp://[zz]/", "rtsp://h\x00st/",
       "rtsp://cam one/", "rtsp:///path", "rtsp:cam"]


@pytest.mark.parametrize("source", BAD)
@pytest.mark.parametrize("allow_local", [False, True])
def test_a_source_that_does_not_parse_is_a_422_naming_it(
    sqlite_store: Store, source: str, allow_local: bool
) -> None:
    h = ApiHarness(sqlite_store, api={"allow_local_sources": allow_local})
    resp = h.call("PUT", "/api/cameras/dock", json={"source": source})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["body", "source"]
    assert h.call("GET", "/api/cameras", READ).json() == []


def test_good_sources_are_kept_and_shown_without_secrets(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store)
    for camera, source in [("v6", "rtsp://user:pw@[fe80::1]:554/live?token=t"),
                           ("hls", "HTTPS://cams.example/yard.m3u8"), ("mc", "udp://@239.0.0.1:5000")]:
        assert h.call("PUT", f"/api/cameras/{camera}", json={"source": source}).status_code == 200
    shown = {c["id"]: c["source"] for c in h.call("GET", "/api/cameras", READ).json()}
    assert shown == {"v6": "rtsp://***@[fe80::1]:554/live",
                     "hls": "https://cams.example/yard.m3u8", "mc": "udp://239.0.0.1:5000"}


def test_rows_stored_before_the_check_are_listed_flagged(sqlite_store: Store) -> None:
    sqlite_store.upsert_camera("port", "rtsp://h:99999/")
    sqlite_store.upsert_camera("v6", "http://[::1/x")
    sqlite_store.upsert_camera("good", "rtsp://cams/dock")
    resp = ApiHarness(sqlite_store).call("GET", "/api/cameras", READ)
    assert resp.status_code == 200, resp.text
    listed = {c["id"]: c for c in resp.json()}
    assert listed["good"]["source"] == "rtsp://cams/dock" and listed["good"]["source_error"] is None
    for camera in ("port", "v6"):
        assert listed[camera]["source"] is None
        assert "does not parse" in listed[camera]["source_error"]
