"""The soak's retention audit, its pruned-versus-missing split and its log scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from connectors.store.retention import Pruner, RetentionPolicy
from pipeline.history.records import IndexedFrame, encode_jpeg
from pipeline.types import Answer, Evidence
from workers.soak.checks import audit_retention, log_errors, newest_per_camera, split_missing
from workers.soak.report import SoakReport


def _frame(camera: str, t: float) -> IndexedFrame:
    emb = np.ones(8, np.float32) / np.sqrt(8)
    jpeg = encode_jpeg(np.full((8, 8, 3), 50, np.uint8))
    return IndexedFrame(camera, t, "tiny", emb, jpeg, None, (8, 8))


def _answer(camera: str, end: float) -> Answer:
    ev = (Evidence(end - 1, b"\xff\xd8jpeg", (0.0, 0.0, 1.0, 1.0)),)
    return Answer("q1", "a red circle", camera, end - 4, end, 0.0, "clip", "yes", True, 0.5,
                  (end - 1,), ((0.0, 0.0, 1.0, 1.0),), 4, 1.0, {"clip": "tiny"}, ev)


def test_the_audit_finds_rows_older_than_keep_plus_interval_until_pruned(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    FrameIndex(store.engine).write([_frame("door", float(t)) for t in range(0, 200)])
    store.insert_answers([_answer("door", float(e)) for e in range(4, 200, 4)])
    store.insert_answers([_answer("gate", float(e)) for e in range(5000, 5040, 4)])
    policy = RetentionPolicy(frames=60, answers=100, interval=10)
    assert newest_per_camera(store.engine) == {"door": 199.0, "gate": 5036.0}

    before = audit_retention(store.engine, policy)
    assert before.oldest_age_s == {"frames": 199.0, "answers": 195.0, "evidence": 195.0}
    # frames before 199-60-10 = 129: 0..128; answers/evidence before 89: ends 4..88
    assert before.overdue == {"frames": 129, "answers": 22, "evidence": 22}

    Pruner(store.engine, policy).prune()
    after = audit_retention(store.engine, policy)
    assert after.overdue == {"frames": 0, "answers": 0, "evidence": 0}
    assert after.oldest_age_s["frames"] <= 60 and after.oldest_age_s["answers"] <= 100
    store.close()


def test_an_absent_answer_is_pruned_only_if_it_was_produced_and_is_old() -> None:
    expected = {("q", "c", float(t)) for t in range(10, 110, 10)}
    stored = {k for k in expected if k[2] >= 50}  # the cut-off is 100 - 50: 50 is kept
    produced = expected - {("q", "c", 20.0)}  # 20 never reached the answers topic
    newest = {"c": 100.0}
    missing, pruned = split_missing(expected, stored - {("q", "c", 90.0)}, produced, newest, 50)
    assert missing == {("q", "c", 20.0), ("q", "c", 90.0)}  # lost, and too recent to be pruned
    assert pruned == {("q", "c", t) for t in (10.0, 30.0, 40.0)}
    assert split_missing(expected, stored, produced, newest, None)[1] == set()


def test_log_scan_counts_error_records_and_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "w1.log").write_text(
        "2026-11-30 12:00:00 INFO workers: ready\n"
        "2026-11-30 12:00:01 WARNING connectors: dead letter DecodeError\n"
        "2026-11-30 12:00:02 ERROR aiokafka: Unable to connect\n"
        "[2026-11-30 12:00:03,000] [42] [ERROR] agent crashed\n"
        "Traceback (most recent call last):\n"
    )
    count, examples = log_errors([tmp_path / "w1.log", tmp_path / "gone.log"], examples=2)
    assert count == 3
    assert examples[0] == "w1: 2026-11-30 12:00:02 ERROR aiokafka: Unable to connect"
    assert len(examples) == 2


def test_the_report_fails_on_overdue_rows_and_on_errors_without_faults() -> None:
    report = SoakReport(cameras=1, minutes=1, log_errors=1)
    assert not report.ok
    report.faults = {"broker": 1}  # a stopped broker is expected to log errors
    assert report.ok
    report.retention = {"keep_s": {"frames": 600.0}, "interval_s": 10.0,
                        "oldest_age_s": {"frames": 700.0}, "overdue": {"frames": 3}}
    assert not report.ok
    assert any("overdue rows {'frames': 3}" in line for line in report.lines())
