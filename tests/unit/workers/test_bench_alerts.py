"""The alert bench's arithmetic: arrivals stamped by a real receiver, matched to events,
split into detection delay and pipeline latency; misses and false alerts counted; the
work a run left unfinished named."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connectors.store import Store
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from pipeline.alerts.model import Rule
from pipeline.errors import ConfigError
from tests.unit.workers.api.scenarios import answer
from tests.unit.workers.incident_clips.incidents import add_incident
from workers.alerts.engine import Evaluator
from workers.bench._alert_events import HOOK_RATE_CAP, Arrival, HookReceiver, match, spread
from workers.bench._alert_store import work
from workers.bench.alerts import AlertBench, _settings, measure

ANCHOR = 1_000_000.0


def opened(camera: str, started: float, window_end: float, at: float) -> Arrival:
    body = {"event": "opened", "camera": camera, "incident": {"started_at": ANCHOR + started},
            "window": {"end": ANCHOR + window_end}}
    return Arrival(ANCHOR + at, body)


def test_each_event_takes_its_first_opening_and_the_rest_are_false_alerts() -> None:
    events = [(10.0, 20.0), (40.0, 50.0), (70.0, 80.0)]
    arrivals = [
        opened("cam0", 10.0, 12.0, 13.5),  # event 1: detected at 12, delivered at 13.5
        opened("cam0", 30.0, 31.0, 31.4),  # nothing there: a false alert
        opened("cam0", 41.0, 43.0, 43.2),  # event 2
        opened("cam1", 70.0, 72.0, 72.5),  # another camera's: not this one's event 3
    ]
    results, false_alerts = match("cam0", ANCHOR, events, arrivals, window=2.0)
    assert [r.latency_s for r in results] == [pytest.approx(3.5), pytest.approx(3.2), None]
    assert [r.detection_s for r in results[:2]] == [pytest.approx(2.0), pytest.approx(3.0)]
    assert [r.pipeline_s for r in results[:2]] == [pytest.approx(1.5), pytest.approx(0.2)]
    assert false_alerts == 1
    assert spread([3.5, 3.2, None, 1.0]) == {"p50": 3.2, "p95": 3.5, "max": 3.5}
    assert spread([None]) == {"p50": None, "p95": None, "max": None}


def test_the_receiver_stamps_what_it_was_sent() -> None:
    receiver = HookReceiver().start()
    try:
        body = {"event": "opened", "camera": "cam0"}
        assert httpx.post(receiver.url, json=body).status_code == 200
        assert httpx.post(receiver.url, json={"event": "closed"}).status_code == 200
        assert httpx.post(receiver.url, content=b"not json").status_code == 200
    finally:
        receiver.stop()
    assert [a.body for a in receiver.openings()] == [body]
    assert len(receiver.arrivals) == 2 and receiver.arrivals[0].at > ANCHOR


def test_the_scene_has_the_events_asked_for_and_bad_settings_are_refused() -> None:
    bench = AlertBench(events=3, event_s=10.0, gap_s=20.0, lead_s=10.0)
    assert bench.onsets() == [(10.0, 20.0), (40.0, 50.0), (70.0, 80.0)]
    assert bench.duration == 100.0
    with pytest.raises(ConfigError, match="--event-s"):
        AlertBench(event_s=1.0, window=2.0)


def test_a_run_whose_work_did_not_finish_names_the_shortfall(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'w.db'}")
    query = AlertBench(window=2.0, every=1.0).query()
    spans = {"cam": [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]}  # due windows end at 1, 2, ..., 6
    alerts = AlertStore(store.engine)
    hook = alerts.add_hook("https://hooks.example/x", resolve=lambda h, p: ["93.184.216.34"])
    alerts.add_rule(Rule("r1", query.id, hooks=(hook["id"],), open_after=1))
    store.insert_answers([answer(query.id, "cam", t, matched=t == 4.0) for t in (2, 3, 4)])
    Evaluator(Outbox(store.engine)).run_once()  # opens an incident: one delivery pending
    got = work(store.engine, query, spans)
    assert (got["answers"], got["answers_expected"]) == (3, 6)
    assert got["shortfall"] == {"answers": 3, "incidents_open": 1, "deliveries_pending": 1,
                                "clips_missing": 1}
    store.insert_answers([answer(query.id, "cam", t, matched=False) for t in (1, 5, 6)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE deliveries SET status = 'delivered'")
        conn.exec_driver_sql("DELETE FROM incidents")
    add_incident(store, "done", started=4.0, opened=4.0, closed=5.0)
    assert work(store.engine, query, spans)["shortfall"] == {"clips_missing": 2}
    with store.engine.begin() as conn:  # a hook policy held the opening back: unmeasured
        conn.exec_driver_sql("UPDATE deliveries SET status = 'suppressed'")
    assert work(store.engine, query, spans)["shortfall"] == {"deliveries_suppressed": 1,
                                                             "clips_missing": 2}
    store.close()


def test_the_benchs_hook_has_no_rate_cap(tmp_path: Path) -> None:
    # 8 cameras x 20 events: 160 openings, past the default cap of 60 per hour
    assert HOOK_RATE_CAP == 0
    assert _settings(AlertBench(cameras=8), "sqlite://", tmp_path).hooks.rate_cap == 0


def test_the_kafka_mode_needs_a_broker_and_modes_are_checked() -> None:
    with pytest.raises(ConfigError, match="--kafka"):
        measure(AlertBench(events=1), ("embedded", "kafka"), None)
    with pytest.raises(ConfigError, match="--mode"):
        measure(AlertBench(events=1), ("cloud",), None)
