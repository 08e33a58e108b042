"""Standing-query scheduling: due on multiples of `every`, windows, grouping, catch-up."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.scheduler import Scheduler
from pipeline.types import StandingQuery


def q(
    id_: str, every: float = 1.0, window: float = 4.0, cameras: tuple[str, ...] = ("*",)
) -> StandingQuery:
    return StandingQuery(id_, f"question {id_}", cameras, every, window)


def plan(dues) -> list[tuple[float, float, list[str]]]:  # type: ignore[no-untyped-def]
    return [(d.start, d.end, [x.id for x in d.queries]) for d in dues]


def test_due_when_stream_time_crosses_multiples() -> None:
    s = Scheduler([q("a", every=1.0)])
    assert plan(s.advance("cam", 2.0, since=0.0)) == [(0.0, 1.0, ["a"]), (0.0, 2.0, ["a"])]
    assert plan(s.advance("cam", 2.5, since=2.0)) == []
    assert plan(s.advance("cam", 4.0, since=2.5)) == [(0.0, 3.0, ["a"]), (0.0, 4.0, ["a"])]
    assert plan(s.advance("cam", 6.0, since=4.0)) == [(1.0, 5.0, ["a"]), (2.0, 6.0, ["a"])]


def test_epoch_times_use_the_same_grid_on_every_run() -> None:
    t0 = 1_700_000_000.3
    ends = []
    for _ in range(2):
        s = Scheduler([q("a", every=2.0)])
        ends.append([d.end for d in s.advance("cam", t0 + 5, since=t0)])
    assert ends[0] == ends[1] == [1_700_000_002.0, 1_700_000_004.0]


def test_queries_due_together_are_grouped_per_end_and_window() -> None:
    s = Scheduler([q("a", every=1.0), q("b", every=2.0), q("c", every=2.0, window=8.0)])
    got = plan(s.advance("cam", 2.0, since=0.0))
    assert got == [(0.0, 1.0, ["a"]), (0.0, 2.0, ["a", "b"]), (0.0, 2.0, ["c"])]


def test_cameras_are_independent_and_filtered() -> None:
    s = Scheduler([q("door-only", cameras=("door",)), q("all")])
    assert plan(s.advance("yard", 1.0, since=0.0)) == [(0.0, 1.0, ["all"])]
    assert plan(s.advance("door", 1.0, since=0.0)) == [(0.0, 1.0, ["door-only", "all"])]
    assert s.horizon("yard") == 4.0


def test_query_added_mid_stream_starts_at_the_next_multiple() -> None:
    s = Scheduler([q("a")])
    s.advance("cam", 10.0, since=0.0)
    s.put(q("late", every=5.0, window=5.0))
    got = plan(s.advance("cam", 15.0, since=10.0))
    assert got[-2:] == [(11.0, 15.0, ["a"]), (10.0, 15.0, ["late"])]  # different windows
    assert [d.end for d in s.advance("cam", 16.0, since=15.0)] == [16.0]


def test_removed_query_is_never_due_again() -> None:
    s = Scheduler([q("a"), q("b")])
    s.advance("cam", 1.0, since=0.0)
    s.remove("a")
    assert plan(s.advance("cam", 2.0, since=1.0)) == [(0.0, 2.0, ["b"])]


def test_a_long_gap_only_keeps_recent_windows() -> None:
    s = Scheduler([q("a", every=1.0, window=2.0)])
    s.advance("cam", 1.0, since=0.0)
    assert [d.end for d in s.advance("cam", 100.0, since=99.0)] == [98.0, 99.0, 100.0]


def test_invalid_timing_is_rejected() -> None:
    with pytest.raises(ConfigError, match="window"):
        Scheduler([q("a", every=2.0, window=1.0)])
    with pytest.raises(ConfigError, match="every"):
        Scheduler([q("a", every=0.0)])
    with pytest.raises(ConfigError, match="question"):
        Scheduler([StandingQuery("x", "   ")])
