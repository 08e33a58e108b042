"""Answer feedback and saved clip baselines in the SQL store (SQLite, no services)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from connectors.store import Store
from connectors.store.feedback import StoreStates, add_feedback, feedback_for, load_state
from pipeline.answerers import build_answerer
from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import Answer, EncodedFrame, RoI, StandingQuery

D = 3


class _Enc:
    model_id = "fake"
    grid = (1, 1)
    calibration = {"adaptive_floor": 0.05}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), D), np.float32)


def _answer(answerer, t: float, score: float):  # type: ignore[no-untyped-def]
    frame = EncodedFrame("cam", t, np.zeros(D, np.float32), np.zeros((1, 1, D), np.float32),
                         np.zeros((2, 2, 3), np.uint8), (2, 2))
    sel = Selection("q", (0,), (t,), (score,), np.array([score], np.float32), (RoI.full(1, 1),))
    return answerer.answer(StandingQuery("q", "a red circle"), [frame], sel, np.ones(D))


def _clip(states: StoreStates):  # type: ignore[no-untyped-def]
    answerer = build_answerer("clip", {}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    return answerer


def _scores(n: int = 120) -> list[float]:
    rng = np.random.default_rng(11)
    base = np.where((np.arange(n) // 15) % 3 == 2, 0.18, -0.1)  # the object comes and goes
    return list(base + rng.normal(0, 0.04, n))


def test_a_successor_loading_the_saved_baseline_answers_like_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    scores = _scores()
    whole = _clip(StoreStates(Store.from_url(f"sqlite:///{tmp_path}/a.db")))
    expected = [_answer(whole, float(t), s).matched for t, s in enumerate(scores)]

    url = f"sqlite:///{tmp_path}/b.db"
    first = _clip(StoreStates(Store.from_url(url)))
    got = [_answer(first, float(t), s).matched for t, s in enumerate(scores[:70])]
    # the successor starts from the store and re-answers the last 10 windows (redelivery)
    second = _clip(StoreStates(Store.from_url(url)))
    got = got[:60] + [_answer(second, float(t), scores[t]).matched for t in range(60, 120)]
    assert got == expected
    assert any(expected) and not all(expected)


def test_a_fresh_worker_without_the_saved_state_would_calibrate_again(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/c.db")
    first = _clip(StoreStates(store))
    for t in range(5):
        _answer(first, float(t), -0.1)
    assert len(load_state(store, "q", "cam").samples) == 5
    assert "calibrating" not in _answer(_clip(StoreStates(store)), 5.0, -0.1).text
    other = Store.from_url(f"sqlite:///{tmp_path}/d.db")
    assert "calibrating" in _answer(_clip(StoreStates(other)), 5.0, -0.1).text


def test_feedback_is_stored_and_flips_the_decision_of_that_query_and_camera(
    tmp_path: Path,
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/e.db")
    states = StoreStates(store, refresh_s=0.0)
    answerer = _clip(states)
    for t in range(10):
        _answer(answerer, float(t), -0.1)
    result = _answer(answerer, 10.0, 0.15)
    assert result.matched is True
    stored = Answer("q", "a red circle", "cam", 6.0, 10.0, 11.0, "clip", result.text,
                    result.matched, result.score, (10.0,), ((0, 0, 1, 1),), 1, 1.0)
    store.insert_answers([stored])
    fb = add_feedback(store, 1, correct=False)
    assert (fb.query_id, fb.camera, fb.matched, fb.correct) == ("q", "cam", True, False)
    assert [f.correct for f in feedback_for(store, "q", "cam")] == [False]
    assert _answer(answerer, 11.0, 0.15).matched is False
    assert _answer(answerer, 12.0, 0.35).matched is True
    add_feedback(store, 1, correct=True)  # changed their mind: the latest verdict counts
    assert [f.correct for f in feedback_for(store)] == [True]
    assert _answer(answerer, 13.0, 0.15).matched is True
    with pytest.raises(ConfigError, match="answer id"):
        add_feedback(store, 99, correct=True)


def test_a_state_unused_for_a_while_is_read_again_from_the_store(tmp_path: Path) -> None:
    """A camera that went to another worker and came back: its newer windows count."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    now = [0.0]
    mine = StoreStates(Store.from_url(url), stale_s=5.0, clock=lambda: now[0])
    other = StoreStates(Store.from_url(url))
    first = _clip(mine)
    _answer(first, 0.0, -0.1)
    for t in range(1, 6):
        _answer(_clip(other), float(t), -0.1)  # the other worker answered meanwhile
    assert len(mine.load("q", "cam").samples) == 1  # within stale_s: the cache
    now[0] = 10.0
    assert len(mine.load("q", "cam").samples) == 6
