"""The clip answerer's store-backed baselines while the store is unreachable (SQLite, no
services): every window is still answered, as an uninterrupted run answers it, and the
states kept meanwhile reach the store once it answers again."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from connectors.store import Store
from connectors.store.feedback import StoreStates, load_state
from pipeline.answerers import build_answerer
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, RoI, StandingQuery

D = 3


class _Enc:
    model_id = "fake"
    grid = (1, 1)
    calibration = {"adaptive_floor": 0.05}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), D), np.float32)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _answer(answerer, t: float, score: float):  # type: ignore[no-untyped-def]
    frame = EncodedFrame(
        "cam",
        t,
        np.zeros(D, np.float32),
        np.zeros((1, 1, D), np.float32),
        np.zeros((2, 2, 3), np.uint8),
        (2, 2),
    )
    sel = Selection("q", (0,), (t,), (score,), np.array([score], np.float32), (RoI.full(1, 1),))
    return answerer.answer(StandingQuery("q", "a red circle"), [frame], sel, np.ones(D))


def _clip(states: StoreStates):  # type: ignore[no-untyped-def]
    answerer = build_answerer("clip", {}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    return answerer


def _scores(n: int = 120) -> list[float]:
    rng = np.random.default_rng(5)
    base = np.where((np.arange(n) // 15) % 3 == 2, 0.18, -0.1)
    return list(base + rng.normal(0, 0.04, n))


def test_windows_are_answered_while_the_store_is_away_and_the_state_is_written_back(
    tmp_path: Path,
) -> None:
    scores = _scores()
    clock_a = _Clock()
    whole_store = Store.from_url(f"sqlite:///{tmp_path}/whole.db")
    whole = _clip(StoreStates(whole_store, clock=clock_a))
    expected = []
    for t, s in enumerate(scores):
        clock_a.now = float(t)
        expected.append(_answer(whole, float(t), s).matched)

    home, away = tmp_path / "db", tmp_path / "away"
    home.mkdir()
    store = Store.from_url(f"sqlite:///{home}/b.db")
    clock = _Clock()
    answerer = _clip(StoreStates(store, clock=clock))
    got = []
    for t, s in enumerate(scores):
        if t == 50:  # the database goes away: no connection can be opened
            home.rename(away)
            store.engine.dispose()
        if t == 80:  # and comes back
            away.rename(home)
        clock.now = float(t)
        got.append(_answer(answerer, float(t), s).matched)
        if t == 79:  # nothing reached the store during the outage
            kept = Store.from_url(f"sqlite:///{away}/b.db", upgrade=False)
            assert load_state(kept, "q", "cam").samples[-1][0] == 49.0
            kept.close()

    assert got == expected
    assert any(expected) and not all(expected)
    assert load_state(store, "q", "cam") == load_state(whole_store, "q", "cam")
