"""The live terminal view of a run."""

from __future__ import annotations


def test_the_live_view_shows_a_live_cameras_window_in_clock_time() -> None:
    from workers.view import _frames, _window

    assert _window(4, 8) == "4–8s"
    assert _window(1796672056.0, 1796672060.0) == "19:34:16–19:34:20 UTC"
    assert _frames((1796672056.0, 1796672057.5, 1796672059.95)) == "3: 19:34:16.0…19:34:20.0"
    assert _frames((1.0, 2.5)) == "1.0 2.5"
