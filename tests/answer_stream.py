"""A synthetic answer stream with known runs, for the answers-over-time tests.

One question ("dock") on one camera, a 6 s window every 2 s (windows overlap), on a
clock starting at T0 (a UTC hour). Written out by hand, with the truth beside it:

* t 2..60 no; run A: yes 62..180 (60 windows, [60, 180));
* 182..240 no; run B1: yes 242..300; 302..306 missing (3 steps unanswered: the run ends);
* run B2: yes 308..318, 320 and 322 missing (2 steps: the run goes on), yes 324..340;
  a restart: answers resume at 341, 343, .. 401 (odd ends; 341's step overlaps 340's
  by one second, counted once);
* 403..421 no; run C: yes 423..441 (version 1); run D: yes 443..481 (version 2, a
  new run although nothing else changed; 443..451 backfilled); 483..499 no.

:func:`deliveries` shuffles it, cuts it into batches and redelivers a fifth of it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.types import Answer

T0 = 1_699_999_200.0  # 2023-11-14T22:00:00Z
EVERY, WINDOW = 2.0, 6.0
QUERY, CAMERA = "dock", "cam1"


@dataclass(frozen=True)
class TrueRun:
    start: float
    end: float
    windows: int
    matched_s: float
    version: int
    backfilled: int = 0


RUNS = (
    TrueRun(T0 + 60, T0 + 180, 60, 120.0, 1),
    TrueRun(T0 + 240, T0 + 300, 30, 60.0, 1),
    TrueRun(T0 + 306, T0 + 401, 46, 91.0, 1),
    TrueRun(T0 + 421, T0 + 441, 10, 20.0, 1),
    TrueRun(T0 + 441, T0 + 481, 20, 40.0, 2, backfilled=5),
)
MATCHED = tuple((T0 + a, T0 + b) for a, b in ((60, 180), (240, 300), (306, 318), (322, 401),
                                               (421, 481)))
"""The matched time: the union of the yes windows' steps."""


def _plan() -> list[tuple[int, bool, int]]:
    """(end offset, yes, version) of every answer, in time order."""
    out = [(t, False, 1) for t in range(2, 61, 2)]
    out += [(t, True, 1) for t in range(62, 181, 2)]
    out += [(t, False, 1) for t in range(182, 241, 2)]
    out += [(t, True, 1) for t in range(242, 301, 2)]
    out += [(t, True, 1) for t in (*range(308, 319, 2), *range(324, 341, 2))]
    out += [(t, True, 1) for t in range(341, 402, 2)]
    out += [(t, False, 1) for t in range(403, 422, 2)]
    out += [(t, True, 1) for t in range(423, 442, 2)]
    out += [(t, True, 2) for t in range(443, 482, 2)]
    out += [(t, False, 2) for t in range(483, 500, 2)]
    return out


def answer(t: int, yes: bool, version: int) -> Answer:
    end = T0 + t
    return Answer(
        QUERY, "is the dock door open?", CAMERA, end - WINDOW, end, end + 0.5, "clip",
        "yes" if yes else "no", yes, 0.3 + 0.001 * t if yes else 0.1, (end - 1,),
        ((0.0, 0.0, 1.0, 1.0),), 10, 5.0,
        backfilled=version == 2 and 443 <= t <= 451, every=EVERY, query_version=version,
    )


def stream() -> list[Answer]:
    return [answer(*p) for p in _plan()]


def deliveries(seed: int = 29, batch: int = 7) -> list[list[Answer]]:
    """The stream out of order, in batches, a fifth of it delivered again (some twice
    in one batch)."""
    rng = random.Random(seed)
    answers = stream()
    sent = answers + rng.sample(answers, len(answers) // 5)
    rng.shuffle(sent)
    return [sent[i:i + batch] for i in range(0, len(sent), batch)]


def windows_in(lo: float, hi: float) -> int:
    """Answered windows whose step starts in ``[lo, hi)``."""
    return sum(1 for a in stream() if lo <= a.window_end - EVERY < hi)


def matched_in(lo: float, hi: float) -> float:
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in MATCHED)


def runs_started_in(lo: float, hi: float) -> int:
    return sum(1 for r in RUNS if lo <= r.start < hi)
