"""Deadline-aware batches: a batch waits for company only until its oldest record is due."""

from __future__ import annotations

import pytest

from workers.perception.batching import BatchPolicy

POLICY = BatchPolicy(max_records=4, within_s=0.1)
NOW, WALL = 100.0, 1_780_000_000.0


def test_nothing_buffered_waits_for_a_record() -> None:
    assert POLICY.wait_s(0, NOW, 0.0, NOW, WALL) is None


def test_a_fresh_record_waits_at_most_within_for_company() -> None:
    assert POLICY.wait_s(1, NOW, WALL, NOW, WALL) == pytest.approx(0.1)
    assert POLICY.wait_s(2, NOW - 0.04, WALL - 0.04, NOW, WALL) == pytest.approx(0.06)


def test_a_full_batch_is_due_at_once() -> None:
    assert POLICY.wait_s(4, NOW, WALL, NOW, WALL) == 0.0


def test_a_record_that_is_already_late_is_taken_at_once() -> None:
    # it waited in Kafka (or behind a long batch): produced 2 s ago, received just now
    assert POLICY.wait_s(1, NOW, WALL - 2.0, NOW, WALL) == 0.0
    # a record that sat in this worker's buffer while the previous batch ran
    assert POLICY.wait_s(3, NOW - 1.5, 0.0, NOW, WALL) == 0.0


def test_a_producer_clock_behind_ours_never_makes_a_record_wait_longer() -> None:
    # produced "in the future" by a skewed clock: the time since arrival still bounds it
    assert POLICY.wait_s(1, NOW - 0.08, WALL + 5.0, NOW, WALL) == pytest.approx(0.02)
