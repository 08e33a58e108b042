"""A short soak on the real broker and PostgreSQL: every fault once, nothing lost.

Two paced synthetic cameras through ``feedwatch ingest``, two perception workers,
a sink and ``feedwatch alerts`` to a signed receiver, for about two minutes, while
a worker is killed with SIGKILL, the broker and PostgreSQL are stopped and started,
the hook receiver goes down and then answers slower than the sender waits, a camera
disconnects and returns, a burst outruns perception, and hostile segments and
messages are injected. Afterwards: no answer missing, none doubled or unexpected,
every fuzz record dead-lettered, every incident delivered exactly once.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from workers.soak import FAULTS, SoakConfig, run_soak

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "soak-short.json"


# The services are spawned with PR_SET_PDEATHSIG, which fires when the *thread* that
# started them exits: restarts run on this long-lived thread, not on the soak's
# short-lived fault thread, so the broker outlives the fault (and this test).
_SERVICE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soak-services")


class _Restartable:
    """The fixture's service as a soak Control (start waits until it answers)."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def stop(self) -> None:
        _SERVICE_THREAD.submit(self.service.stop).result()

    def start(self) -> None:
        _SERVICE_THREAD.submit(self.service.start).result()


def test_short_soak_loses_and_doubles_nothing(
    kafka_service: Any, postgres_service: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    for service in (kafka_service, postgres_service):
        if not service.running:
            service.start()
    lines: list[str] = []
    cfg = SoakConfig(
        bootstrap=kafka_service.bootstrap,
        db_url=fresh_postgres_url,
        cameras=2,
        minutes=2.0,
        broker=_Restartable(kafka_service),
        postgres=_Restartable(postgres_service),
        workdir=tmp_path,
        clip_seconds=60.0,
        say=lambda line: (lines.append(line), print(line, flush=True)),
    )
    report = run_soak(cfg)
    text = "\n".join(report.lines())
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(report.as_dict(), indent=2))
    print(text)
    context = text + "\n--- timeline\n" + "\n".join(lines)
    assert report.faults == {name: 1 for name in FAULTS}, context
    assert report.due_windows > 100 and report.answers_stored > 100, context
    assert report.missing == 0 and report.extra == 0 and report.duplicated == 0, context
    assert report.fuzz_injected > 0 and report.fuzz_dead_lettered == report.fuzz_injected, context
    assert report.incidents_expected > 0, context
    assert report.incidents_missing == 0 and report.incidents_delivered_twice == 0, context
    assert report.incidents_delivered == report.incidents_expected, context
    assert report.bad_signatures == 0 and not report.crashes, context
    assert report.max_consumer_lag.get("perceive", 0) > 0, context  # the burst was measured
    assert report.ok, context
