"""``POST/GET /api/answers/{id}/feedback``: stored, write token required, 404/422 named."""

from __future__ import annotations

from connectors.store.feedback import feedback_for
from tests.unit.workers.api.scenarios import READ, ApiHarness, answer


def test_feedback_needs_a_write_token_and_is_stored(harness: ApiHarness) -> None:
    harness.store.insert_answers([answer("q-1", "cam-1", 10.0, matched=True)])
    (row,) = harness.call("GET", "/api/answers").json()["items"]
    path = f"/api/answers/{row['id']}/feedback"
    assert harness.call("POST", path, token=None, json={"correct": False}).status_code == 401
    assert harness.call("POST", path, token=READ, json={"correct": False}).status_code == 403
    assert harness.call("GET", path, token=READ).status_code == 404  # none given yet
    resp = harness.call("POST", path, json={"correct": False})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["query_id"], body["camera"], body["matched"], body["correct"]) == (
        "q-1", "cam-1", True, False
    )
    (stored,) = feedback_for(harness.store)
    assert (stored.answer_id, stored.correct) == (row["id"], False)
    assert harness.call("GET", path, token=READ).json()["correct"] is False
    changed = harness.call("POST", path, json={"correct": True}).json()
    assert changed["correct"] is True
    assert [f.correct for f in feedback_for(harness.store)] == [True]
    # a changed verdict is the newest one: its time too (the tracker reads the newest)
    assert harness.call("GET", path, token=READ).json()["created_at"] == changed["created_at"]


def test_bad_feedback_requests_say_what_is_wrong(harness: ApiHarness) -> None:
    missing = harness.call("POST", "/api/answers/999/feedback", json={"correct": True})
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    harness.store.insert_answers([answer("q-1", "cam-1", 10.0)])
    (row,) = harness.call("GET", "/api/answers").json()["items"]
    bad = harness.call("POST", f"/api/answers/{row['id']}/feedback", json={"correct": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "correct"
    extra = harness.call("POST", f"/api/answers/{row['id']}/feedback",
                         json={"correct": True, "note": "x"})
    assert extra.status_code == 422
