"""The demo's closing summary compares answers with the clip's ground truth."""

from __future__ import annotations

from workers.demo import VISIBLE, timeline


def test_timeline_marks_windows_overlapping_the_visible_interval() -> None:
    t1, t2 = VISIBLE
    windows = [(t1 - 4, t1, False), (t1 - 1, t1 + 3, True), (t2, t2 + 4, True)]
    said, truth, agreement = timeline(windows)
    assert said == "·██"
    assert truth == "·█·"
    assert agreement == 2 / 3
