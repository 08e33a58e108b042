"""Standing-query scheduling: due on multiples of `every`, windows, grouping, catch-up."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.scheduler import Scheduler
from pipeline.skips import Skip
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


def test_a_long_segment_makes_every_window_due_once() -> None:
    s = Scheduler([q("a", every=1.0, window=4.0)])
    assert [d.end for d in s.advance("cam", 10.0, since=0.0)] == [float(e) for e in range(1, 11)]
    assert [d.end for d in s.advance("cam", 20.0, since=10.0)] == [float(e) for e in range(11, 21)]
    assert s.skipped.total() == 0


def test_windows_wholly_inside_a_hole_are_skipped_counted_and_logged(caplog) -> None:
    s = Scheduler([q("a", every=1.0, window=2.0)])
    s.advance("cam", 1.0, since=0.0)
    ends = [d.end for d in s.advance("cam", 100.0, since=99.0)]
    assert ends == [2.0, 100.0]  # [0, 2) holds data before the hole, [98, 100) after it
    assert s.skipped["gap"] == 97
    with caplog.at_level("WARNING", logger="pipeline.skips"):
        assert s.skips.take() == [Skip("cam", "a", "gap", 3.0, 99.0, 97)]
    assert [r.getMessage() for r in caplog.records] == [
        "camera cam: skipped 97 window(s) of query a ending 3.000..99.000 "
        "(gap: no frame of the stream inside them)"
    ]
    assert s.skips.take() == []  # each record is handed over once


def test_empty_windows_at_the_edges_of_a_hole_join_its_record() -> None:
    s = Scheduler([q("a", every=1.0, window=1.0)])
    s.advance("cam", 22.3, since=0.0)
    dues = {d.end: d for d in s.advance("cam", 35.7, since=33.7)}
    assert sorted(dues) == [23.0, 34.0, 35.0]  # 24..33 lie wholly inside the hole
    s.skip_empty(dues[23.0])  # [22, 23) and [33, 34): stream data, but no frame in them
    s.skip_empty(dues[34.0])
    assert s.skips.take() == [Skip("cam", "a", "gap", 23.0, 34.0, 12)]
    assert s.skipped["gap"] == 12


def test_separate_holes_are_separate_records() -> None:
    s = Scheduler([q("a", every=1.0, window=1.0)])
    s.advance("cam", 10.0, since=0.0)
    s.advance("cam", 30.0, since=20.0)
    s.advance("cam", 60.0, since=50.0)
    assert [(k.first, k.last, k.windows) for k in s.skips.take()] == [
        (11.0, 20.0, 10), (31.0, 50.0, 20)]


def test_live_catch_up_skips_windows_older_than_max_lag() -> None:
    wall = 1_700_000_100.0
    s = Scheduler([q("a", every=1.0, window=2.0)], max_lag=5.0, clock=lambda: wall)
    ends = [d.end for d in s.advance("cam", wall - 2.0, since=wall - 20.0)]
    assert ends == [wall - 5.0, wall - 4.0, wall - 3.0, wall - 2.0]
    assert s.skipped["lag"] == 14


def test_a_file_on_its_own_clock_is_never_skipped_for_lag() -> None:
    s = Scheduler([q("a", every=1.0, window=2.0)], max_lag=5.0, clock=lambda: 1_700_000_000.0)
    assert len(s.advance("file", 40.0, since=0.0)) == 40
    assert s.skipped.total() == 0


def test_needed_from_is_the_start_of_the_oldest_pending_window() -> None:
    s = Scheduler([q("a", every=1.0, window=4.0), q("b", every=2.0, window=8.0)])
    assert s.needed_from("cam", 0.0) == 0.0  # first data: all of it may be needed
    s.advance("cam", 10.0, since=0.0)
    assert s.needed_from("cam", 10.0) == 4.0  # b's next window is [4, 12)
    s.remove("b")
    assert s.needed_from("cam", 10.0) == 7.0
    assert Scheduler().needed_from("cam", 0.0) is None


def test_invalid_timing_is_rejected() -> None:
    with pytest.raises(ConfigError, match="window"):
        Scheduler([q("a", every=2.0, window=1.0)])
    with pytest.raises(ConfigError, match="every"):
        Scheduler([q("a", every=0.0)])
    with pytest.raises(ConfigError, match="question"):
        Scheduler([StandingQuery("x", "   ")])
    with pytest.raises(ConfigError, match="max_lag"):
        Scheduler(max_lag=-1.0, clock=lambda: 0.0)
