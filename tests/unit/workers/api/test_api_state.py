"""``GET/DELETE /api/queries/{id}/state``: the trackers' levels and why, and a reset the
owning worker takes up."""

from __future__ import annotations

from connectors.store.feedback import StoreStates, load_state
from pipeline.types import StandingQuery
from tests.unit.connectors.clip_answers import answer, clip
from tests.unit.workers.api.scenarios import READ, ApiHarness


def test_the_state_explains_the_newest_answer_and_a_reset_reaches_the_worker(
    harness: ApiHarness,
) -> None:
    harness.store.upsert_query(StandingQuery("q", "a red circle", settings={"sensitivity": 0.5}))
    states = StoreStates(harness.store, refresh_s=0.0)
    worker = clip(states)  # answers query "q" on camera "cam"
    for t in range(8):
        answer(worker, float(t), -0.3)
    said = answer(worker, 8.0, 0.4)
    body = harness.call("GET", "/api/queries/q/state", token=READ).json()
    (tracker,) = body["trackers"]
    assert tracker["camera"] == "cam" and tracker["status"] == "present" and said.matched
    assert tracker["absent_windows"] == 8
    assert abs(tracker["absent_level"] + 0.3) < 1e-6 and tracker["turns_yes_at"] > -0.3
    assert tracker["why"].startswith("yes: 0.400 is") and "absent level -0.300" in tracker["why"]
    assert body["sensitivity"] == 0.5

    assert harness.call("DELETE", "/api/queries/q/state", token=READ).status_code == 403
    assert harness.call("DELETE", "/api/queries/q/state?camera=cam").json()["reset"] == 1
    answer(worker, 9.0, 0.4)  # the worker's write is refused: it takes the empty one up
    after = harness.call("GET", "/api/queries/q/state?camera=cam", token=READ).json()
    assert after["trackers"][0]["windows"] <= 1 and load_state(harness.store, "q", "cam") == (
        states.load("q", "cam"))
    assert harness.call("GET", "/api/queries/nope/state").status_code == 404

