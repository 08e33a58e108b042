"""Answer feedback and saved clip baselines in the SQL store (SQLite, no services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.store import Store
from connectors.store.feedback import StoreStates, add_feedback, feedback_for, load_state
from pipeline.errors import ConfigError
from pipeline.types import Answer
from tests.unit.connectors.clip_answers import answer, clip, window_scores


def test_a_successor_loading_the_saved_baseline_answers_like_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    scores = window_scores(11)
    whole = clip(StoreStates(Store.from_url(f"sqlite:///{tmp_path}/a.db")))
    expected = [answer(whole, float(t), s).matched for t, s in enumerate(scores)]

    url = f"sqlite:///{tmp_path}/b.db"
    first = clip(StoreStates(Store.from_url(url)))
    got = [answer(first, float(t), s).matched for t, s in enumerate(scores[:70])]
    # the successor starts from the store and re-answers the last 10 windows (redelivery)
    second = clip(StoreStates(Store.from_url(url)))
    got = got[:60] + [answer(second, float(t), scores[t]).matched for t in range(60, 120)]
    assert got == expected
    assert any(expected) and not all(expected)


def test_a_fresh_worker_without_the_saved_state_would_calibrate_again(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/c.db")
    first = clip(StoreStates(store))
    for t in range(5):
        answer(first, float(t), -0.1)
    assert len(load_state(store, "q", "cam").samples) == 5
    assert "calibrating" not in answer(clip(StoreStates(store)), 5.0, -0.1).text
    other = Store.from_url(f"sqlite:///{tmp_path}/d.db")
    assert "calibrating" in answer(clip(StoreStates(other)), 5.0, -0.1).text


def test_feedback_is_stored_and_flips_the_decision_of_that_query_and_camera(
    tmp_path: Path,
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/e.db")
    states = StoreStates(store, refresh_s=0.0)
    answerer = clip(states)
    for t in range(10):
        answer(answerer, float(t), -0.1)
    result = answer(answerer, 10.0, 0.15)
    assert result.matched is True
    stored = Answer("q", "a red circle", "cam", 6.0, 10.0, 11.0, "clip", result.text,
                    result.matched, result.score, (10.0,), ((0, 0, 1, 1),), 1, 1.0)
    store.insert_answers([stored])
    fb = add_feedback(store, 1, correct=False)
    assert (fb.query_id, fb.camera, fb.matched, fb.correct) == ("q", "cam", True, False)
    assert [f.correct for f in feedback_for(store, "q", "cam")] == [False]
    assert answer(answerer, 11.0, 0.15).matched is False
    assert answer(answerer, 12.0, 0.35).matched is True
    add_feedback(store, 1, correct=True)  # changed their mind: the latest verdict counts
    assert [f.correct for f in feedback_for(store)] == [True]
    assert answer(answerer, 13.0, 0.15).matched is True
    with pytest.raises(ConfigError, match="answer id"):
        add_feedback(store, 99, correct=True)


def test_a_state_unused_for_a_while_is_read_again_from_the_store(tmp_path: Path) -> None:
    """A camera that went to another worker and came back: its newer windows count."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    now = [0.0]
    mine = StoreStates(Store.from_url(url), stale_s=5.0, clock=lambda: now[0])
    other = StoreStates(Store.from_url(url))
    first = clip(mine)
    answer(first, 0.0, -0.1)
    for t in range(1, 6):
        answer(clip(other), float(t), -0.1)  # the other worker answered meanwhile
    assert len(mine.load("q", "cam").samples) == 1  # within stale_s: the cache
    now[0] = 10.0
    assert len(mine.load("q", "cam").samples) == 6
