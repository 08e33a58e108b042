"""Hostile use of the queries, state, feedback and hooks routes: a PATCH never undoes a
DELETE or another PATCH, a PATCH with nothing in it is refused, a setting or parameter
outside what the product can compute with is refused by name, and a reset or a clip list
of something that does not exist is a 404, not a silent 200."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from connectors.store import Store
from pipeline.answerers.clip_settings import clip_rule
from pipeline.types import StandingQuery
from tests.unit.workers.api.scenarios import READ, ApiHarness, answer


def test_a_patch_only_writes_over_the_version_it_read(sqlite_store: Store) -> None:
    sqlite_store.upsert_query(StandingQuery("q", "a red circle", every=1.0, window=4.0))
    q1 = StandingQuery("q", "a red circle", every=2.0, window=4.0, version=2)
    assert sqlite_store.replace_query(q1, expected_version=1)
    assert not sqlite_store.replace_query(q1, expected_version=1)  # version 2 is stored now
    sqlite_store.delete_query("q")
    later = StandingQuery("q", "a red circle", every=3.0, window=4.0, version=3)
    assert not sqlite_store.replace_query(later, expected_version=2)  # deleted meanwhile
    assert [q.id for q in sqlite_store.queries()] == []


def test_patches_and_a_delete_at_once_never_bring_the_query_back(harness: ApiHarness) -> None:
    for _ in range(5):
        qid = harness.create("a red circle")["id"]
        with ThreadPoolExecutor(4) as pool:
            calls = [pool.submit(harness.call, "PATCH", f"/api/queries/{qid}",
                                 json={"every": 2}) for _ in range(3)]
            gone = pool.submit(harness.call, "DELETE", f"/api/queries/{qid}")
            codes = sorted(c.result().status_code for c in calls)
        assert gone.result().status_code == 204
        assert set(codes) <= {200, 404}, codes
        assert harness.call("GET", f"/api/queries/{qid}", READ).status_code == 404
        # two PATCHes of different fields at once: both land
        qid = harness.create("a blue square")["id"]
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(harness.call, "PATCH", f"/api/queries/{qid}", json={"window": 8})
            b = pool.submit(harness.call, "PATCH", f"/api/queries/{qid}",
                            json={"settings": {"sensitivity": 2}})
            assert a.result().status_code == b.result().status_code == 200
        got = harness.call("GET", f"/api/queries/{qid}", READ).json()
        assert (got["window"], got["settings"], got["version"]) == (8, {"sensitivity": 2}, 3)


def test_an_empty_patch_is_refused_and_makes_no_version(harness: ApiHarness) -> None:
    qid = harness.create("a red circle")["id"]
    for body in ({}, {"question": None}):
        resp = harness.call("PATCH", f"/api/queries/{qid}", json=body)
        assert resp.status_code == 422 and "at least one of" in resp.text
    assert harness.call("GET", f"/api/queries/{qid}", READ).json()["version"] == 1


def test_values_the_product_cannot_compute_with_are_refused_by_name(harness: ApiHarness) -> None:
    resp = harness.call("POST", "/api/queries", json={
        "question": "a red circle", "settings": {"mode": "margin", "logit_scale": 1e308}})
    assert resp.status_code in (409, 422) and "logit_scale" in resp.text
    for params in ({"since": "nan"}, {"until": "inf"}, {"since": "-inf"}):
        resp = harness.call("GET", "/api/answers", READ, params=params)
        assert resp.status_code == 422 and next(iter(params)) in resp.text, resp.text


def test_settings_are_stored_in_the_types_the_answerer_reads(harness: ApiHarness) -> None:
    made = harness.create("a red circle", settings={"sensitivity": "1"})
    assert made["settings"] == {"sensitivity": 1.0}
    got = harness.call("GET", f"/api/queries/{made['id']}", READ).json()
    assert type(got["settings"]["sensitivity"]) is float
    resp = harness.call("PATCH", f"/api/queries/{made['id']}", json={
        "answerer": "cascade", "settings": {"clip": {"sensitivity": "-0.5"}, "band": "0.1"}})
    assert resp.json()["settings"] == {"clip": {"sensitivity": -0.5}, "band": 0.1}, resp.text


def test_a_cascade_querys_levels_follow_its_clip_stage() -> None:
    settings = {"clip": {"sensitivity": 2.5}}
    assert clip_rule(settings, "cascade").sensitivity == 2.5
    assert clip_rule({"sensitivity": 2.5}, "clip").sensitivity == 2.5


def test_a_reset_names_a_camera_of_the_query(harness: ApiHarness) -> None:
    harness.store.upsert_query(StandingQuery("q", "a red circle", cameras=("dock",)))
    resp = harness.call("DELETE", "/api/queries/q/state?camera=yard")
    assert resp.status_code == 404 and "dock" in resp.text
    assert harness.call("DELETE", "/api/queries/q/state?camera=../../etc").status_code == 422
    assert harness.call("DELETE", "/api/queries/q/state?camera=dock").json()["reset"] == 0


def test_hook_ports_and_names_are_checked(harness: ApiHarness) -> None:
    for url in ("http://hooks.example.com:0/h", "http://hooks.example.com:/h"):
        resp = harness.call("POST", "/api/hooks", json={"url": url})
        assert resp.status_code == 422 and "url" in resp.text, url
    resp = harness.call("POST", "/api/hooks", json={"url": "https://hooks.example.com/h",
                                                    "name": "\u202eevil"})
    assert resp.status_code == 422 and "name" in resp.text


def test_a_number_or_a_verdict_is_not_read_from_another_type(harness: ApiHarness) -> None:
    for body in ({"every": True}, {"window": "8"}, {"backfill": True}):
        resp = harness.call("POST", "/api/queries", json={"question": "a red circle", **body})
        assert resp.status_code == 422 and next(iter(body)) in resp.text, (body, resp.text)
    harness.store.insert_answers([answer("q-1", "cam-1", 10.0, matched=True)])
    (row,) = harness.call("GET", "/api/answers").json()["items"]
    for verdict in ("yes", 1):
        resp = harness.call("POST", f"/api/answers/{row['id']}/feedback", json={"correct": verdict})
        assert resp.status_code == 422 and "correct" in resp.text


def test_a_verified_rule_needs_a_query_that_can_verify(harness: ApiHarness) -> None:
    harness.store.upsert_query(StandingQuery("qc", "a red circle", answerer="clip"))
    harness.store.upsert_query(StandingQuery("qv", "a red circle", answerer="cascade"))
    resp = harness.call("POST", "/api/rules", json={"query_id": "qc", "condition": "verified"})
    assert resp.status_code == 409 and "condition" in resp.text and "cascade" in resp.text
    resp = harness.call("POST", "/api/rules", json={"query_id": "qv", "condition": "verified"})
    assert resp.status_code == 201, resp.text
