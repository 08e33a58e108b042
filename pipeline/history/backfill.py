"""Backfill: answer a new standing question over stored frames, as live would have.

The window ends are the live scheduler's (multiples of ``every`` on the stream
clock) that fall in ``(since, last frame]``; each window ``[end - window, end)`` is
clipped to the first frame read (the camera's first stored frame, or one window
before the period), like live windows are clipped to the start of the stream. The
same :class:`~pipeline.engine.Engine` (selection, RoI, answerer) evaluates them in
time order, so an answerer that keeps a running baseline builds it up as it would have
live. Answers come back marked ``backfilled``. No video is decoded: frames are the
index's embeddings and thumbnails.

Frames arrive in pages (:func:`backfill_pages`): a page is read only when the next
window needs it, and a frame is dropped once the windows have passed it, so at most
one page plus one window of frames is held, whatever the range.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

from pipeline.engine import Engine
from pipeline.scheduler import TIME_DECIMALS, Due, validate_query
from pipeline.types import Answer, EncodedFrame, StandingQuery


def _steps(query: StandingQuery, since: float, last: float) -> range:
    k_first = math.floor(since / query.every + 1e-9) + 1
    return range(k_first, math.floor(last / query.every + 1e-9) + 1)


def window_ends(query: StandingQuery, since: float, last: float) -> list[float]:
    """The live scheduler's window ends of ``query`` in ``(since, last]``."""
    return [round(k * query.every, TIME_DECIMALS) for k in _steps(query, since, last)]


def count_windows(query: StandingQuery, since: float, last: float) -> int:
    """``len(window_ends(query, since, last))`` without making the list."""
    return len(_steps(query, since, last))


def window_span(query: StandingQuery, since: float, last: float) -> tuple[float, float] | None:
    """The first and last of ``window_ends(query, since, last)`` (None: there are none)."""
    steps = _steps(query, since, last)
    if not steps:
        return None
    first, last_k = steps[0], steps[-1]
    return round(first * query.every, TIME_DECIMALS), round(last_k * query.every, TIME_DECIMALS)


def most_windows(duration: float, every: float) -> int:
    """The most windows a camera's backfill of ``duration`` s answers, wherever it ends."""
    return max(0, math.ceil(duration / every - 1e-9))


class _Frames:
    """A time-ordered run of frames filled page by page and trimmed from the front."""

    def __init__(self, pages: Iterable[Sequence[EncodedFrame]]) -> None:
        self._pages = iter(pages)
        self._held: deque[EncodedFrame] = deque()
        self._exhausted = False
        self.origin: float | None = None

    def __len__(self) -> int:
        return len(self._held)

    def window(self, start: float, end: float) -> list[EncodedFrame]:
        """The frames with ``start <= t < end`` (earlier ones are dropped for good)."""
        while not self._exhausted and (not self._held or self._held[-1].t < end):
            self._next_page()
        while self._held and self._held[0].t < start:
            self._held.popleft()
        out: list[EncodedFrame] = []
        for frame in self._held:
            if frame.t >= end:
                break
            out.append(frame)
        return out

    def first_time(self) -> float | None:
        while self.origin is None and not self._exhausted:
            self._next_page()
        return self.origin

    def _next_page(self) -> None:
        page = next(self._pages, None)
        if page is None:
            self._exhausted = True
            return
        self._held.extend(page)
        if self.origin is None and self._held:
            self.origin = self._held[0].t


def backfill_pages(
    engine: Engine,
    query: StandingQuery,
    camera: str,
    pages: Iterable[Sequence[EncodedFrame]],
    last: float,
    duration: float,
) -> Iterator[list[Answer]]:
    """The answers of each window of ``query`` on one camera, in time order, over the
    last ``duration`` s before ``last`` (the camera's newest stored frame).

    ``pages`` are the camera's stored frames in time order, from its first stored frame
    (the stream's origin) or at least ``query.window`` before the period, in pages; the
    next page is pulled only when a window reaches past the frames held.
    """
    validate_query(query)
    frames = _Frames(pages)
    origin = frames.first_time()
    if origin is None:
        return
    for k in _steps(query, last - duration, last):
        end = round(k * query.every, TIME_DECIMALS)
        start = max(origin, round(end - query.window, TIME_DECIMALS))
        window = frames.window(start, end)
        answers = engine.evaluate(Due(camera, start, end, (query,)), window)
        failed = engine.take_failures()
        if failed:  # a backfill answers one query: its failure is the caller's error
            raise failed[0].error
        yield [dataclasses.replace(a, backfilled=True) for a in answers]


def backfill_camera(
    engine: Engine,
    query: StandingQuery,
    camera: str,
    frames: Sequence[EncodedFrame],
    duration: float,
) -> list[Answer]:
    """Answers of ``query`` on one camera over the last ``duration`` s of ``frames``
    (all in memory: :func:`backfill_pages` is the bounded form)."""
    validate_query(query)
    if not frames:
        return []
    windows = backfill_pages(engine, query, camera, [frames], frames[-1].t, duration)
    return [a for answers in windows for a in answers]
