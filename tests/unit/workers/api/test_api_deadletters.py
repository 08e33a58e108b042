"""``GET /api/deadletters``: the store's dead letters, newest first, filtered, by stage;
bad parameters are a 422 naming the field, never a 500."""

from __future__ import annotations

from connectors.bus import messages as msg
from connectors.store import Store
from connectors.store.dead_letters import DeadLetterLog, Placed
from tests.unit.workers.api.scenarios import READ, ApiHarness


def _placed(offset: int, at: float, stage: str, camera: str) -> Placed:
    m = msg.encode_deadletter((camera.encode(), b"xyz", []), ValueError(f"bad {offset}"),
                              stage=stage, topic="feedwatch.segments", camera=camera,
                              partition=0, offset=offset)
    return Placed(0, offset, at, msg.decode_deadletter(m.key, m.value, m.headers))


def test_dead_letters_newest_first_filtered_and_counted(
        sqlite_store: Store, harness: ApiHarness) -> None:
    DeadLetterLog(sqlite_store.engine).record(
        [_placed(0, 100.0, "perceive", "dock"), _placed(1, 200.0, "sink", "yard"),
         _placed(2, 300.0, "perceive", "yard")])
    page = harness.call("GET", "/api/deadletters", token=READ).json()
    assert [d["message"] for d in page["dead_letters"]] == ["bad 2", "bad 1", "bad 0"]
    assert page["by_stage"] == {"perceive": 2, "sink": 1}
    assert page["dead_letters"][0]["value_bytes"] == 3
    page = harness.call("GET", "/api/deadletters", token=READ,
                        params={"camera": "yard", "stage": "perceive"}).json()
    assert [d["at"] for d in page["dead_letters"]] == [300.0]
    page = harness.call("GET", "/api/deadletters", token=READ,
                        params={"since": 150, "until": 300}).json()
    assert [d["at"] for d in page["dead_letters"]] == [200.0]
    assert page["by_stage"] == {"perceive": 1, "sink": 1}
    empty = harness.call("GET", "/api/deadletters", token=READ, params={"since": 300, "until": 5})
    assert empty.status_code == 200 and empty.json() == {"dead_letters": [], "by_stage": {}}


def test_bad_parameters_are_refused_by_name(harness: ApiHarness) -> None:
    assert harness.call("GET", "/api/deadletters", token=None).status_code == 401
    for params in ({"since": "nan"}, {"since": "-1"}, {"limit": 0}, {"limit": 10**6},
                   {"until": "soon"}, {"camera": ""}):
        resp = harness.call("GET", "/api/deadletters", token=READ, params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert next(iter(params)) in resp.text
