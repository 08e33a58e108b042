"""The demo's closing summary compares answers with the clip's ground truth."""

from __future__ import annotations

from pathlib import Path

from workers.cli.demo import VISIBLE, fresh_database, timeline


def test_timeline_marks_windows_overlapping_the_visible_interval() -> None:
    t1, t2 = VISIBLE
    windows = [(t1 - 4, t1, False), (t1 - 1, t1 + 3, True), (t2, t2 + 4, True)]
    said, truth, agreement = timeline(windows)
    assert said == "·██"
    assert truth == "·█·"
    assert agreement == 2 / 3


def test_each_demo_run_starts_a_fresh_database(tmp_path: Path) -> None:
    db = tmp_path / "feedwatch.db"
    for name in ("feedwatch.db", "feedwatch.db-wal", "feedwatch.db-shm", "other.db"):
        (tmp_path / name).write_text("x")
    fresh_database(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]
    fresh_database(db)  # nothing there: no error
