"""The live terminal view of a run."""

from __future__ import annotations


def test_the_live_view_shows_a_live_cameras_window_in_clock_time() -> None:
    from workers.view import _frames, _window

    assert _window(4, 8) == "4–8s"
    assert _window(1796672056.0, 1796672060.0) == "19:34:16–19:34:20 UTC"
    assert _frames((1796672056.0, 1796672057.5, 1796672059.95)) == "3: 19:34:16.0…19:34:20.0"
    assert _frames((1.0, 2.5)) == "1.0 2.5"


def test_the_run_summary_says_how_many_windows_were_skipped_and_why() -> None:
    from pipeline.perceiver import PerceiverStats
    from workers.view import run_summary

    stats = PerceiverStats(answers=31, frames=40)
    assert len(run_summary(stats, 31, "sqlite://", ["cam"])) == 1  # nothing skipped: no line
    stats.skipped = {"gap": 12, "lag": 3}
    assert run_summary(stats, 31, "sqlite://", ["cam"])[1] == (
        "15 window(s) due but skipped, not answered: 12 with no video (gap: an outage or "
        "stall of the camera), 3 behind the wall clock (lag: max_lag)")
