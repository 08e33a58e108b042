"""The latency waterfall's accounting: stages between known events, summaries, the clock."""

from __future__ import annotations

import time

import pytest

from pipeline.timings import (
    EVENTS,
    STAGE_NAMES,
    Clock,
    dominant,
    segment_events,
    stages_ms,
    total_ms,
    waterfall,
)

T0 = 1_780_000_000.0  # a wall-clock time (2026)


def full(offsets_ms: list[float]) -> dict[str, float]:
    """Timings with every event, each ``offsets_ms[i]`` after the previous one."""
    t, out = T0, {}
    for event, step in zip(EVENTS, offsets_ms, strict=True):
        t += step / 1000.0
        out[event] = t
    return out


def test_every_stage_is_the_time_between_its_two_events_and_they_add_up() -> None:
    steps = [0, 5, 1, 20, 400, 30, 150, 10, 2, 300]
    timings = full(steps)
    stages = stages_ms(timings)
    assert list(stages) == list(STAGE_NAMES)  # path order
    assert [round(v) for v in stages.values()] == steps[1:]
    assert total_ms(timings) == pytest.approx(sum(steps[1:]))
    assert sum(stages.values()) == pytest.approx(total_ms(timings))


def test_a_stage_without_both_events_is_left_out_not_guessed() -> None:
    timings = full([0, 5, 1, 20, 400, 30, 150, 10, 2, 300])
    del timings["filmed"], timings["consumed"]  # a file run; a bus that cannot tell
    stages = stages_ms(timings)
    assert "cut" not in stages and "segment_hop" not in stages and "batch_wait" not in stages
    assert stages["decode"] == pytest.approx(30)
    # the total still spans what is known: closed → stored
    assert total_ms(timings) == pytest.approx(5 + 1 + 20 + 400 + 30 + 150 + 10 + 2 + 300 - 5)
    assert total_ms({"closed": T0}) is None


def test_segment_events_keep_only_a_wall_clock_stream_time_as_filmed() -> None:
    assert segment_events(12.0, T0 + 1, T0 + 2) == {"closed": T0 + 1, "produced": T0 + 2}
    live = segment_events(T0, T0 + 0.01, 0.0)  # produce time unknown
    assert live == {"filmed": T0, "closed": T0 + 0.01}


def test_the_summary_has_percentiles_per_stage_and_names_the_dominant_one() -> None:
    answers = [full([0, 1, 1, 1 + i, 900 + 10 * i, 5, 100, 3, 1, 50]) for i in range(20)]
    answers.append({"closed": T0, "stored": T0 + 1.0})  # only a total
    summary = waterfall(answers)
    assert list(summary)[-1] == "total" and summary["total"]["n"] == 21
    assert summary["batch_wait"] == {"p50_ms": 990.0, "p95_ms": 1080.0, "mean_ms": 995.0, "n": 20}
    assert dominant(summary) == "batch_wait"
    assert dominant({"total": {"mean_ms": 5.0}}) is None
    assert waterfall([]) == {}


def test_the_clock_measures_durations_on_the_monotonic_clock_placed_on_the_wall() -> None:
    clock = Clock()
    before = time.time()
    mono = time.monotonic()
    assert abs(clock.now() - before) < 0.5
    assert clock.at(mono + 2.5) - clock.at(mono) == pytest.approx(2.5)


def test_stream_times_read_as_utc_clock_times_for_live_cameras_and_seconds_for_files() -> None:
    from pipeline.timings import clock, when

    live = 1796672059.96  # 2026-12-07 19:34:19.96 UTC
    assert clock(live) == "19:34:20" and clock(live, 1) == "19:34:20.0"  # rounded, carried
    assert clock(1796672056.3, 1) == "19:34:16.3"
    assert clock(12.5) == "12.5s" and clock(12.5, 1) == "12.5s" and clock(4.0) == "4s"
    assert when(live).startswith("2026-12-07T19:34:19.960") and when(3.2) == "3.20s"

