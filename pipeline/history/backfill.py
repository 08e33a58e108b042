"""Backfill: answer a new standing question over stored frames, as live would have.

The window ends are the live scheduler's (multiples of ``every`` on the stream
clock) that fall in ``(since, last frame]``; each window ``[end - window, end)`` is
clipped to the camera's first stored frame, like live windows are clipped to the
start of the stream. The same :class:`~pipeline.engine.Engine` (selection, RoI,
answerer) evaluates them in time order, so an answerer that keeps a running
baseline builds it up as it would have live. Answers come back marked
``backfilled``. No video is decoded: frames are the index's embeddings and thumbnails.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Sequence

from pipeline.engine import Engine
from pipeline.scheduler import TIME_DECIMALS, Due, validate_query
from pipeline.types import Answer, EncodedFrame, StandingQuery


def window_ends(query: StandingQuery, since: float, last: float) -> list[float]:
    """The live scheduler's window ends of ``query`` in ``(since, last]``."""
    k_first = math.floor(since / query.every + 1e-9) + 1
    k_last = math.floor(last / query.every + 1e-9)
    return [round(k * query.every, TIME_DECIMALS) for k in range(k_first, k_last + 1)]


def backfill_camera(
    engine: Engine,
    query: StandingQuery,
    camera: str,
    frames: Sequence[EncodedFrame],
    duration: float,
) -> list[Answer]:
    """Answers of ``query`` on one camera over the last ``duration`` s of ``frames``.

    ``frames`` are the camera's stored frames in time order, from its first stored
    frame (the stream's origin) or at least ``query.window`` before the period.
    """
    validate_query(query)
    if not frames:
        return []
    times = [f.t for f in frames]
    origin, last = times[0], times[-1]
    answers: list[Answer] = []
    for end in window_ends(query, last - duration, last):
        start = max(origin, round(end - query.window, TIME_DECIMALS))
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        due = Due(camera, start, end, (query,))
        answers.extend(engine.evaluate(due, frames[lo:hi]))
        failed = engine.take_failures()
        if failed:  # a backfill answers one query: its failure is the caller's error
            raise failed[0].error
    return [dataclasses.replace(a, backfilled=True) for a in answers]
