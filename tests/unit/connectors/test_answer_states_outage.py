"""The clip answerer's store-backed baselines while the store is unreachable (SQLite, no
services): every window is still answered, as an uninterrupted run answers it, and the
states kept meanwhile reach the store once it answers again."""

from __future__ import annotations

from pathlib import Path

from connectors.store import Store
from connectors.store.feedback import StoreStates, load_state
from tests.unit.connectors.clip_answers import answer, clip, window_scores


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_windows_are_answered_while_the_store_is_away_and_the_state_is_written_back(
    tmp_path: Path,
) -> None:
    scores = window_scores(5)
    clock_a = _Clock()
    whole_store = Store.from_url(f"sqlite:///{tmp_path}/whole.db")
    whole = clip(StoreStates(whole_store, clock=clock_a))
    expected = []
    for t, s in enumerate(scores):
        clock_a.now = float(t)
        expected.append(answer(whole, float(t), s).matched)

    home, away = tmp_path / "db", tmp_path / "away"
    home.mkdir()
    store = Store.from_url(f"sqlite:///{home}/b.db")
    clock = _Clock()
    answerer = clip(StoreStates(store, clock=clock))
    got = []
    for t, s in enumerate(scores):
        if t == 50:  # the database goes away: no connection can be opened
            home.rename(away)
            store.engine.dispose()
        if t == 80:  # and comes back
            away.rename(home)
        clock.now = float(t)
        got.append(answer(answerer, float(t), s).matched)
        if t == 79:  # nothing reached the store during the outage
            kept = Store.from_url(f"sqlite:///{away}/b.db", upgrade=False)
            assert load_state(kept, "q", "cam").samples[-1][0] == 49.0
            kept.close()

    assert got == expected
    assert any(expected) and not all(expected)
    assert load_state(store, "q", "cam") == load_state(whole_store, "q", "cam")
