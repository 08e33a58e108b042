"""FEEDWATCH_PERCEPTION_MAX_LAG_S turns on the live catch-up policy of the scheduler."""

from __future__ import annotations

import time

from workers.config import PerceptionSettings
from workers.perception.build import scheduler_of


def test_max_lag_setting_reaches_the_scheduler(monkeypatch) -> None:
    assert scheduler_of(PerceptionSettings()).max_lag is None  # default: never skip
    monkeypatch.setenv("FEEDWATCH_PERCEPTION_MAX_LAG_S", "30")
    scheduler = scheduler_of(PerceptionSettings())
    assert scheduler.max_lag == 30.0
    from pipeline.types import StandingQuery

    scheduler.put(StandingQuery("q", "a red circle", every=1.0, window=4.0))
    now = time.time()
    ends = [d.end for d in scheduler.advance("cam", now, since=now - 100)]
    assert ends and min(ends) >= now - 31 and scheduler.skipped["lag"] >= 60
