"""Stored answers listed a page at a time: every answer once, in order, however the
pages fall (equal window ends across a page's edge), and the limit held."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.store import Store
from connectors.store.answer_listing import Listing, stored_answers
from pipeline.types import Answer


def _answer(query: str, camera: str, end: float, matched: bool) -> Answer:
    return Answer(query, f"question {query}", camera, end - 4.0, end, end + 0.5, "clip",
                  "yes" if matched else "no", matched, 0.3, (end - 1.0,),
                  ((0.0, 0.0, 1.0, 1.0),), 10, 5.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    # three questions answer every window end: ties on window_end cross page edges
    s.insert_answers([_answer(q, "cam", float(end), end % 3 == 0)
                      for end in range(1, 8) for q in ("q-a", "q-b", "q-c")])
    return s


@pytest.mark.parametrize("page", [1, 2, 3, 4, 1000])
def test_every_answer_once_oldest_first_whatever_the_page(store: Store, page: int) -> None:
    got = list(stored_answers(store, Listing(), page=page))
    assert len(got) == 21 and len({i for i, _ in got}) == 21
    assert [(a.window_end, i) for i, a in got] == sorted((a.window_end, i) for i, a in got)


def test_filters_and_limit_hold_across_pages(store: Store) -> None:
    got = list(stored_answers(store, Listing(question="B", matched=True), page=1))
    assert [(a.query_id, a.window_end) for _, a in got] == [("q-b", 3.0), ("q-b", 6.0)]
    got = list(stored_answers(store, Listing(since=5.0, limit=5), page=2))
    assert len(got) == 5 and all(a.window_end >= 5.0 for _, a in got)
    assert [a.window_end for _, a in got] == [5.0, 5.0, 5.0, 6.0, 6.0]
