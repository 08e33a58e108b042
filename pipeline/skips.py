"""Windows skipped by policy, one summarised record per run of windows.

A window that is due but has nothing to answer is never simply dropped: it is counted
under its reason and recorded. The windows one hole in a camera's stream costs are one
:class:`Skip` (first and last window end, how many), whether the scheduler skipped the
middle of the hole by arithmetic or the perceiver found a window at its edge without a
frame; a long hole is one record, never a row per window. Records stay open while later
skips of the same camera, query and reason extend them, and are logged (one line
each) and handed over by :meth:`SkipLog.take`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace

log = logging.getLogger(__name__)

REASONS = {
    "gap": "no frame of the stream inside them",
    "sparse": "shorter than the sampling interval, no sampled frame inside them",
    "lag": "ended more than max_lag before the wall clock",
}
"""Why windows are skipped: ``gap`` — the stream had a hole there (an outage, a
reconnect, a stall), so there is no video to answer from; ``sparse`` — a window shorter
than 1/sample_fps that no sampled frame fell in (the query asks finer than the camera is
sampled); ``lag`` — live catch-up."""


@dataclass(frozen=True)
class Skip:
    """``windows`` windows of ``query`` on ``camera`` ending ``first``..``last``, skipped
    for ``reason`` (a key of :data:`REASONS`)."""

    camera: str
    query: str
    reason: str
    first: float
    last: float
    windows: int

    def describe(self) -> str:
        return (f"camera {self.camera}: skipped {self.windows} window(s) of query "
                f"{self.query} ending {self.first:.3f}..{self.last:.3f} "
                f"({self.reason}: {REASONS[self.reason]})")


class SkipLog:
    """Counts per reason (:attr:`counts`) and the open records, merged while adjacent."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._open: dict[tuple[str, str, str], tuple[Skip, float]] = {}
        self._closed: list[Skip] = []

    def add(self, skip: Skip, every: float) -> None:
        """Count ``skip`` and merge it into the open record it touches (windows ``every``
        apart), else close that record and open this one."""
        self.counts[skip.reason] += skip.windows
        key = (skip.camera, skip.query, skip.reason)
        held = self._open.get(key)
        if held is not None and _touch(held[0], skip, max(every, held[1])):
            old = held[0]
            skip = replace(old, first=min(old.first, skip.first), last=max(old.last, skip.last),
                           windows=old.windows + skip.windows)
        elif held is not None:
            self._closed.append(held[0])
        self._open[key] = (skip, every)

    def take(self) -> list[Skip]:
        """Every record since the last call, each logged once."""
        out, self._closed = self._closed + [s for s, _ in self._open.values()], []
        self._open.clear()
        for line in _lines(out):
            log.warning("%s", line)
        return out

    def drop(self, camera: str) -> None:
        """Forget ``camera``'s records and their counts (its windows were not this
        process's to answer)."""
        mine = [s for s in self._closed if s.camera == camera]
        mine += [s for (c, _, _), (s, _) in self._open.items() if c == camera]
        for skip in mine:
            self.counts[skip.reason] -= skip.windows
        self._closed = [s for s in self._closed if s.camera != camera]
        self._open = {k: v for k, v in self._open.items() if k[0] != camera}
        self.counts = +self.counts


def _lines(skips: list[Skip]) -> list[str]:
    """One log line per camera and reason: a hole costs every query on the camera its
    windows, so the queries are folded into the line (``K queries``) rather than one line
    each."""
    groups: dict[tuple[str, str], list[Skip]] = {}
    for skip in skips:
        groups.setdefault((skip.camera, skip.reason), []).append(skip)
    out = []
    for (camera, reason), group in groups.items():
        if len(group) == 1:
            out.append(group[0].describe())
            continue
        first = min(s.first for s in group)
        last = max(s.last for s in group)
        windows = sum(s.windows for s in group)
        out.append(f"camera {camera}: skipped {windows} window(s) of {len(group)} queries "
                   f"ending {first:.3f}..{last:.3f} ({reason}: {REASONS[reason]})")
    return out


def _touch(a: Skip, b: Skip, every: float) -> bool:
    """True when the windows of ``a`` and ``b`` overlap or follow each other."""
    slack = every * 1.5
    return b.first <= a.last + slack and a.first <= b.last + slack
