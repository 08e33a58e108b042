"""The soak's hostile client and its RSS verdict, without services.

The client's probes are sent to the real app on SQLite (served on a loopback port,
so the 300 MB bodies go over a socket): every probe gets its fixed status, and a
status outside a probe's allowed set, or a Kafka probe never dead-lettered, counts
as unexpected (what fails the soak)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from workers.soak.hostile import HUGE, HostileClient, ProbeTally
from workers.soak.rss import RssLog

READ, WRITE = "read-token-123", "write-token-456"


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The API over a fresh SQLite store, on a loopback port."""
    from tests.unit.workers.api.scenarios import ApiHarness

    monkeypatch.setenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", "1")  # as in the soak's stack
    store = Store.from_url(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    try:
        with ApiHarness(store).served() as served:
            yield served
    finally:
        store.close()


def test_every_probe_gets_its_fixed_status(url: str) -> None:
    put: list[tuple[bytes, bytes]] = []
    client = HostileClient(url, WRITE, READ, put_queries=put.extend, nul_storable=True)
    client.round()
    client.round()
    report = client.report(dead_lettered=set(client.kafka_marks))
    client.http.close()
    assert report["unexpected"] == 0, report
    probes = report["probes"]
    assert len(probes) >= 18 and all(p["sent"] >= 2 for p in probes.values()), probes
    assert probes["body_300mb_no_token_chunked"]["statuses"].keys() <= {"413", "401"}
    assert probes["settings_mode_bogus"]["statuses"] == {"422": 2}
    assert probes["kafka_query_message"]["statuses"] == {"dead-lettered": 4}
    assert [k for k, _ in put] == [m.encode() for m in client.kafka_marks]


def test_a_message_never_dead_lettered_is_unexpected(url: str) -> None:
    client = HostileClient(url, WRITE, READ, put_queries=lambda records: None)
    client._kafka()
    client.http.close()
    report = client.report(dead_lettered={client.kafka_marks[0]})
    assert report["unexpected"] == 1
    assert "not dead-lettered" in report["probes"]["kafka_query_message"]["unexpected_examples"][0]


def test_a_status_outside_the_allowed_set_is_counted() -> None:
    tally = ProbeTally((422,))
    tally.note(422)
    tally.note(500)
    tally.note(422, "reply names 'SELECT '")
    assert tally.as_dict()["unexpected"] == 2 and tally.sent == 3
    assert HUGE == 300 * 1024 * 1024


def _log(series: dict[str, list[tuple[int, float, float]]]) -> RssLog:
    log = RssLog()
    for name, samples in series.items():
        for pid, t, mib in samples:
            log.add(name, pid, t, mib)
    return log


def test_rss_verdict_measures_restarted_processes_from_their_restart() -> None:
    flat = [(1, float(t), 100.0) for t in range(0, 3600, 60)]
    # w1 grows 50 % over its first life, is restarted at 1800 s and then stays flat
    w1 = [(2, float(t), 100.0 + t / 36) for t in range(0, 1800, 60)]
    w1 += [(3, float(t), 120.0 + (1.0 if t > 2400 else 0.0)) for t in range(1800, 3600, 60)]
    leak = [(4, float(t), 100.0 + t / 100) for t in range(0, 3600, 60)]
    verdict = _log({"sink": flat, "w1": w1}).judge(0.0, 3600.0)
    assert verdict["ok"], verdict
    w1_v = verdict["processes"]["w1"]
    assert w1_v["instances"] == 2 and w1_v["baseline_s"] == 1860.0  # restart + warm-up
    assert not _log({"sink": flat, "api": leak}).judge(0.0, 3600.0)["ok"]


def test_ingest_instances_are_one_series() -> None:
    samples = {f"ingest-cam{i}": [(10 + i * 100 + k, float(i * 60 + k * 10), 80.0)
                                  for k in range(6)] for i in range(60)}
    verdict = _log(samples).judge(0.0, 3600.0)
    assert verdict["processes"]["ingest"]["judged"] and verdict["ok"], verdict


def test_the_harness_is_shown_not_judged() -> None:
    flat = [(1, float(t), 100.0) for t in range(0, 3600, 60)]
    grows = [(9, float(t), 100.0 + t / 10) for t in range(0, 3600, 60)]
    verdict = _log({"sink": flat, "soak": grows}).judge(0.0, 3600.0)
    assert verdict["ok"] and not verdict["processes"]["soak"]["within"]
    assert verdict["processes"]["soak"]["harness"]
