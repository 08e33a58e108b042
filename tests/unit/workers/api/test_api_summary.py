"""``GET /api/answers/summary`` and ``/api/answers/runs`` over the synthetic stream."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.store import AnswerSink, Store
from tests import answer_stream as truth
from tests.unit.workers.api.scenarios import READ, ApiHarness

T0 = truth.T0


def _store(store: Store) -> None:
    sink = AnswerSink(store)
    for batch in truth.deliveries(seed=3):
        for a in batch:
            sink.add(a)
        sink.flush()


def test_summary_buckets_match_the_truth_to_the_second(harness: ApiHarness) -> None:
    _store(harness.store)
    resp = harness.call("GET", "/api/answers/summary", token=READ, params={
        "query_id": "dock", "camera": "cam1", "since": "10m", "bucket": "1m"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["newest"] == T0 + 499 and body["since"] == T0 + 499 - 600 - 19
    rows = [(b["start"], b["matched_s"], b["windows"], b["runs"]) for b in body["buckets"]]
    assert rows == [
        (lo, truth.matched_in(lo, lo + 60), truth.windows_in(lo, lo + 60),
         truth.runs_started_in(lo, lo + 60))
        for lo in (body["since"] + 60 * i for i in range(len(rows)))
    ]
    assert body["buckets"][-1]["end"] == T0 + 540 and body["next_since"] is None
    assert (body["matched_s"], body["runs"]) == (331.0, 5)
    assert body["buckets"][2]["local"] == "2023-11-14T22:00:00+00:00"


def test_day_and_hour_buckets_follow_the_time_zone(harness: ApiHarness) -> None:
    _store(harness.store)
    params = {"since": "2023-11-14", "until": "2023-11-16", "bucket": "1d", "tz": "Asia/Tokyo"}
    days = harness.call("GET", "/api/answers/summary", token=READ, params=params).json()
    assert [b["local"] for b in days["buckets"]] == [
        "2023-11-14T00:00:00+09:00", "2023-11-15T00:00:00+09:00"]
    assert [b["matched_s"] for b in days["buckets"]] == [0.0, 331.0]  # 22:00Z is 07:00 JST
    hours = harness.call("GET", "/api/answers/summary", token=READ, params={
        "since": str(int(T0)), "until": "2023-11-14T23:00Z", "tz": "Asia/Kolkata"}).json()
    assert [(b["start"] - T0, b["matched_s"]) for b in hours["buckets"]] == [
        (-1800, 331.0), (1800, 0.0)]


def test_the_bucket_cap_pages_a_long_range(harness: ApiHarness) -> None:
    _store(harness.store)
    pages, since = [], "2d"
    while since is not None:
        body = harness.call("GET", "/api/answers/summary", token=READ, params={
            "since": since, "bucket": "1m"}).json()
        pages.append(body)
        since = None if body["next_since"] is None else repr(body["next_since"])
    assert [len(p["buckets"]) for p in pages] == [1500, 1381]  # 2 days of minutes, and one
    assert pages[0]["next_since"] == pages[0]["until"] == pages[1]["since"]
    assert sum(p["matched_s"] for p in pages) == 331.0


def test_paging_ends_where_nothing_more_is_stored(harness: ApiHarness) -> None:
    _store(harness.store)
    body = harness.call("GET", "/api/answers/summary", token=READ, params={
        "since": "10m", "until": "99999999999", "bucket": "1m"}).json()
    assert len(body["buckets"]) == 1500 and body["next_since"] is None
    assert body["matched_s"] == 331.0


def test_runs_list_newest_first_with_incidents_and_pages(harness: ApiHarness) -> None:
    _store(harness.store)
    with harness.store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO incidents (id, rule_id, query_id, camera_id, question, state, started_at,"
            " opened_at, last_hit_at, closed_at, notified, updated_at) VALUES ('inc-1', 'r',"
            " 'dock', 'cam1', 'q', 'closed', :s, :s, :e, :e, '[]', 0)"),
            {"s": T0 + 150, "e": T0 + 250})
    page = harness.call("GET", "/api/answers/runs", token=READ, params={"limit": 3}).json()
    got = [(r["start"] - T0, r["duration_s"], r["matched_s"], r["query_version"])
           for r in page["items"]]
    assert got == [(441, 40, 40, 2), (421, 20, 20, 1), (306, 95, 91, 1)]
    rest = harness.call("GET", "/api/answers/runs", token=READ, params={
        "limit": 3, "cursor": page["next_cursor"]}).json()
    assert [r["start"] - T0 for r in rest["items"]] == [240, 60] and rest["next_cursor"] is None
    assert [r["incident_ids"] for r in rest["items"]] == [["inc-1"], ["inc-1"]]
    first = harness.call("GET", f"/api/answers/{rest['items'][1]['first_answer_id']}", token=READ)
    assert first.json()["window_end"] == T0 + 62 and first.json()["matched"] is True
    assert page["items"][0]["backfilled"] == 5


def test_bad_parameters_are_named(harness: ApiHarness) -> None:
    for params, field in (({"tz": "Mars/Base"}, "tz"), ({"since": "yesterday"}, "since"),
                          ({"bucket": "2h"}, "bucket")):
        resp = harness.call("GET", "/api/answers/summary", token=READ, params=params)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"][0]["loc"] == ["query", field]


def test_an_empty_or_reversed_range_selects_nothing(harness: ApiHarness) -> None:
    """The schema allows any two times (it cannot say one must follow the other): such a
    range is an empty answer, not a refusal; an empty one read as a whole minute."""
    _store(harness.store)
    for since, until in ((T0 + 100, T0 + 100), (T0 + 200, T0 + 100)):
        body = harness.call("GET", "/api/answers/summary", token=READ, params={
            "since": str(since), "until": str(until), "bucket": "1m"}).json()
        assert (body["buckets"], body["windows"], body["matched_s"]) == ([], 0, 0.0), body


def test_nothing_stored_is_an_empty_summary(harness: ApiHarness) -> None:
    body = harness.call("GET", "/api/answers/summary", token=READ).json()
    assert (body["buckets"], body["newest"], body["matched_s"]) == ([], None, 0.0)
    assert harness.call("GET", "/api/answers/runs", token=READ).json()["items"] == []


def test_the_schema_documents_both_with_examples(harness: ApiHarness) -> None:
    schema = harness.call("GET", "/openapi.json", token=READ).json()
    summary = schema["paths"]["/api/answers/summary"]["get"]
    params = {p["name"]: p for p in summary["parameters"]}
    assert params["since"]["examples"]["day"]["value"] == "24h"
    assert "Europe/Berlin" in params["tz"]["schema"]["enum"]
    assert "/api/answers/runs" in schema["paths"]


def test_a_date_that_does_not_exist_is_a_422_naming_the_field(harness: ApiHarness) -> None:
    """The published pattern knows month lengths; only a common year's 29 February
    passes it, and rolls over (a schema-valid value is never refused)."""
    for day in ("2026-02-30", "2026-04-31"):
        resp = harness.call("GET", "/api/answers/summary", token=READ, params={"since": day})
        assert resp.status_code == 422 and "since" in resp.text, (day, resp.text)
    resp = harness.call("GET", "/api/answers/summary", token=READ, params={
        "since": "2023-02-29", "until": "2023-03-02", "bucket": "1d"})
    assert resp.status_code == 200 and resp.json()["since"] == 1677628800.0  # 1 March
