"""``GET /api/queries/{id}/cameras``: a question's newest answers camera by camera, in one
request, so a dashboard card shows what each camera sees now."""

from __future__ import annotations

from tests.unit.workers.api.scenarios import READ, ApiHarness, answer


def test_each_camera_gets_its_own_newest_answers(harness: ApiHarness) -> None:
    for cam in ("yard", "dock"):
        harness.store.upsert_camera(cam, f"file:///{cam}.mp4")
    qid = harness.create(cameras=["yard", "dock"], every=2, window=4)["id"]
    # the yard answers every second and last: a mixed page of 5 would hold only the yard
    harness.store.insert_answers([answer(qid, "dock", 10.0 + t, matched=False) for t in range(3)])
    harness.store.insert_answers([answer(qid, "yard", 20.0 + t) for t in range(30)])
    body = harness.call("GET", f"/api/queries/{qid}/cameras?per_camera=5", token=READ).json()
    assert [c["camera"] for c in body["cameras"]] == ["yard", "dock"]
    yard, dock = body["cameras"]
    assert [a["window_end"] for a in yard["answers"]] == [49.0, 48.0, 47.0, 46.0, 45.0]
    assert [a["window_end"] for a in dock["answers"]] == [12.0, 11.0, 10.0]
    assert {a["camera"] for a in dock["answers"]} == {"dock"} and not dock["answers"][0]["matched"]
    assert dock["answers"][0]["evidence"][0]["url"].endswith("/evidence/0.jpg")


def test_every_camera_question_lists_registered_and_answering_cameras(harness: ApiHarness) -> None:
    harness.store.upsert_camera("quiet", "file:///quiet.mp4")
    qid = harness.create(cameras=["*"], every=2, window=4)["id"]
    harness.store.insert_answers([answer(qid, "busy", 5.0)])
    body = harness.call("GET", f"/api/queries/{qid}/cameras", token=READ).json()
    assert [(c["camera"], len(c["answers"])) for c in body["cameras"]] == [
        ("busy", 1), ("quiet", 0)]
    assert body["per_camera"] == 20


def test_unknown_query_and_bad_page_size_are_refused(harness: ApiHarness) -> None:
    assert harness.call("GET", "/api/queries/nope/cameras", token=READ).status_code == 404
    harness.store.upsert_camera("yard", "file:///yard.mp4")
    qid = harness.create(cameras=["yard"], every=2, window=4)["id"]
    bad = harness.call("GET", f"/api/queries/{qid}/cameras?per_camera=0", token=READ)
    assert bad.status_code == 422 and "per_camera" in bad.text
    assert harness.call("GET", f"/api/queries/{qid}/cameras", token=None).status_code == 401
