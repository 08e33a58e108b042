"""Backfill over pages of frames: the same answers as over every frame at once, while
holding at most one page and one window of frames.

The engine is the real one (selection, RoI, the default adaptive ``clip`` answerer, whose
running baseline makes every answer depend on the windows before it) over a fake text
encoder: "a red circle" is axis 0; frames 40–70 s point at it, the others away.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.history.backfill import (
    backfill_camera,
    backfill_pages,
    count_windows,
    most_windows,
    window_ends,
    window_span,
)
from pipeline.perceiver import AnswererCache
from pipeline.types import EncodedFrame, StandingQuery

D = 8
QUERY = StandingQuery("q", "a red circle", ("cam",), every=1.0, window=4.0)


class TextEncoder:
    model_id = "fake-clip"

    def encode_text(self, texts: Any) -> np.ndarray:
        return np.stack([np.eye(D, dtype=np.float32)[0 if "red" in t else 1] for t in texts])


def engine() -> Engine:
    encoder = TextEncoder()
    return Engine(encoder, AnswererCache(encoder), evidence=False)


def frame(t: float, rng: np.random.Generator) -> EncodedFrame:
    noise = rng.normal(size=D).astype(np.float32)
    emb = noise + (4.0 if 40 <= t <= 70 else -1.0) * np.eye(D, dtype=np.float32)[0]
    emb /= np.linalg.norm(emb)
    return EncodedFrame("cam", t, emb, np.tile(emb, (2, 2, 1)), np.zeros((4, 4, 3), np.uint8),
                        (4, 4))


def frames(n: int, fps: float = 2.0) -> list[EncodedFrame]:
    rng = np.random.default_rng(5)
    return [frame(i / fps, rng) for i in range(n)]


def paged(all_frames: list[EncodedFrame], size: int) -> Iterator[list[EncodedFrame]]:
    for i in range(0, len(all_frames), size):
        yield all_frames[i:i + size]


def key(answers: list[Any]) -> list[tuple[float, float, bool | None, float | None]]:
    return [(a.window_start, a.window_end, a.matched, a.score) for a in answers]


@pytest.mark.parametrize("size", [1, 3, 8, 1000])
def test_pages_answer_as_all_frames_at_once(size: int) -> None:
    stored = frames(240)  # 120 s at 2 fps
    whole = backfill_camera(engine(), QUERY, "cam", stored, 100.0)
    windows = list(backfill_pages(engine(), QUERY, "cam", paged(stored, size), stored[-1].t,
                                  100.0))
    answers = [a for w in windows for a in w]
    assert len(windows) == count_windows(QUERY, stored[-1].t - 100.0, stored[-1].t) == 100
    assert key(answers) == key(whole) and len(answers) == 100
    assert all(a.backfilled for a in answers)
    assert any(a.matched for a in answers) and not all(a.matched for a in answers)


def test_frames_held_are_bounded_by_a_page_and_a_window() -> None:
    size, fps = 10, 2.0
    refs: list[weakref.ref[EncodedFrame]] = []
    pulled = [0]
    rng = np.random.default_rng(1)

    def pages() -> Iterator[list[EncodedFrame]]:
        for p in range(100):  # 1000 frames, 500 s
            page = [frame((p * size + i) / fps, rng) for i in range(size)]
            refs.extend(weakref.ref(f) for f in page)
            pulled[0] += 1
            yield page

    held = []  # frames still alive (no cycles hold them: freed when dropped)
    for n, _answers in enumerate(backfill_pages(engine(), QUERY, "cam", pages(), 499.5, 400.0)):
        held.append(sum(r() is not None for r in refs))
        # pages are read as the windows reach them: never more than one page ahead
        assert pulled[0] <= (100.0 + n + 1) * fps / size + 2
    window_frames = int(QUERY.window * fps)
    assert len(held) == 400 and max(held) <= size + window_frames
    assert pulled[0] == 100


def test_no_frames_answer_nothing_and_windows_are_counted_without_a_list() -> None:
    assert list(backfill_pages(engine(), QUERY, "cam", iter([]), 10.0, 5.0)) == []
    q = StandingQuery("q", "a red circle", every=0.2, window=4.0)
    assert count_windows(q, 0.0, 7 * 86400.0) == 3_024_000 == most_windows(7 * 86400.0, 0.2)
    assert window_span(q, 3.0, 4.1) == (3.2, 4.0) == tuple(window_ends(q, 3.0, 4.1)[::4])
    assert window_span(q, 3.0, 3.1) is None and most_windows(2.5, 1.0) == 3
