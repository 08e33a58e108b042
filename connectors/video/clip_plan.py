"""Which packets an incident clip keeps: pure logic on packet time and keyframe flag.

The segments covering an incident arrive as lists of *units* (one frame's packets,
decode order) per segment. A mid-GOP segment repeats the packets of its GOP before
its own start (its prefix, see :mod:`connectors.video.cutter`); :func:`dedupe`
keeps each frame once, so a missing segment is bridged by the next one's prefix.
:func:`plan` then takes the frames from the keyframe at or before the pre-roll to
the end plus the post-roll and, past the length cap, keeps a head and a tail that
each start at a keyframe (the middle is skipped and the tail's times are shifted to
follow the head). Nothing here decodes: a clip is a subset of the source's packets.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from connectors.video.base import ClipError
from pipeline.errors import ConfigError

SAME_FRAME_S = 1e-3
"""Two packets of one camera this close in time are the same frame (a repeated
prefix): far below any frame interval, far above the 1/90000-s rounding of MPEG-TS."""


class Unit(Protocol):
    @property
    def t(self) -> float: ...
    @property
    def keyframe(self) -> bool: ...


U = TypeVar("U", bound=Unit)


@dataclass(frozen=True)
class ClipWindow:
    """What to cut: the event ``[start, end]`` (stream seconds) with its rolls and cap."""

    start: float
    end: float
    pre_roll: float = 5.0
    post_roll: float = 5.0
    max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.end >= self.start:
            raise ConfigError("clip.end", self.end, f"must be >= start ({self.start})")
        for name in ("pre_roll", "post_roll"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"clip.{name}", getattr(self, name), "must be >= 0")
        if not self.max_seconds > 0:
            raise ConfigError("clip.max_seconds", self.max_seconds, "must be > 0")

    @property
    def lo(self) -> float:
        return self.start - self.pre_roll

    @property
    def hi(self) -> float:
        return self.end + self.post_roll


@dataclass(frozen=True)
class Plan(Generic[U]):
    """The units to mux (decode order) and the time each is shown at in the clip
    (seconds from the clip's first keyframe); ``skipped`` is the stream interval
    left out of a capped clip (``None``: nothing left out)."""

    units: list[U]
    times: list[float]
    origin: float
    step: float
    skipped: tuple[float, float] | None

    @property
    def duration(self) -> float:
        return max(self.times) + self.step


def dedupe(segments: Iterable[Sequence[U]]) -> list[U]:
    """Every frame once, in decode order: segments come in stream order and a unit
    whose time was already seen (a repeated GOP prefix) is dropped."""
    seen: list[float] = []
    out: list[U] = []
    for units in segments:
        for u in units:
            i = bisect.bisect_left(seen, u.t - SAME_FRAME_S)
            if i < len(seen) and seen[i] <= u.t + SAME_FRAME_S:
                continue
            seen.insert(i, u.t)
            out.append(u)
    return out


def plan(units: Sequence[U], window: ClipWindow) -> Plan[U]:
    """The clip's units: from the keyframe at or before ``window.lo`` (the first
    keyframe when the recording begins later) to the last frame shown before
    ``window.hi``; capped at ``window.max_seconds``."""
    first = _first_keyframe(units, window)
    step = frame_step(units)
    kept = _from_keyframe(units, first)
    kept = kept[: _end_after(kept, window.hi)]
    origin = kept[0].t
    if _span(kept, step) <= window.max_seconds + step / 2:
        return Plan(kept, [u.t - origin for u in kept], origin, step, None)
    return _capped(kept, window.max_seconds, step)


def frame_step(units: Sequence[Unit]) -> float:
    """The median interval between shown frames (0.04 s when it cannot be told)."""
    times = sorted(u.t for u in units)
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b - a > SAME_FRAME_S)
    return gaps[len(gaps) // 2] if gaps else 0.04


def _first_keyframe(units: Sequence[Unit], window: ClipWindow) -> int:
    keys = [i for i, u in enumerate(units) if u.keyframe and u.t < window.hi]
    if not keys:
        raise ClipError(f"no keyframe before {window.hi:.3f} in the segments given")
    before = [i for i in keys if units[i].t <= window.lo + SAME_FRAME_S]
    return before[-1] if before else keys[0]


def _from_keyframe(units: Sequence[U], first: int) -> list[U]:
    """Units from ``first`` on, less the leading pictures of an open GOP (shown before
    their keyframe, they reference the GOP before it, which the clip does not hold)."""
    origin = units[first].t
    return [u for u in units[first:] if u.t >= origin - SAME_FRAME_S]


def _clean_cuts(units: Sequence[Unit]) -> list[tuple[int, float, float]]:
    """Where a prefix (decode order) can end without a hole: (index, latest time
    before, earliest time after) at every point where every frame after is shown
    after every frame before. Dropping a tail keeps what is left decodable."""
    n = len(units)
    low = [math.inf] * (n + 1)
    for i in range(n - 1, -1, -1):
        low[i] = min(low[i + 1], units[i].t)
    cuts, top = [], -math.inf
    for i in range(1, n + 1):
        top = max(top, units[i - 1].t)
        if low[i] > top + SAME_FRAME_S:
            cuts.append((i, top, low[i]))
    return cuts


def _end_after(units: Sequence[Unit], hi: float) -> int:
    """The shortest clean prefix holding every frame shown before ``hi`` (with
    B-frames a reference frame shown after ``hi`` comes along)."""
    return next(i for i, _, after in _clean_cuts(units) if after >= hi - SAME_FRAME_S)


def _end_before(units: Sequence[Unit], hi: float, step: float) -> int:
    """The longest clean prefix whose frames are all shown by ``hi`` (at least one)."""
    fits = [i for i, top, _ in _clean_cuts(units) if top + step <= hi + SAME_FRAME_S]
    return fits[-1] if fits else _end_after(units, units[0].t + SAME_FRAME_S)


def _span(units: Sequence[Unit], step: float) -> float:
    return max(u.t for u in units) + step - units[0].t


def _capped(kept: list[U], max_s: float, step: float) -> Plan[U]:
    """A head from the first keyframe and a tail from the keyframe that makes the
    tail closest to ``max_s / 2``; the head gets what the tail leaves. When no
    keyframe allows the split (a GOP nearly as long as the cap), the head alone."""
    origin, last = kept[0].t, max(u.t for u in kept) + step
    tail_at = _tail_keyframe(kept, last, max_s, step)
    if tail_at is None:
        head = kept[: _end_before(kept, origin + max_s, step)]
        return Plan(head, [u.t - origin for u in head], origin, step, (head_end(head, step), last))
    budget = max_s - (last - kept[tail_at].t)
    head = kept[: _end_before(kept[:tail_at], origin + budget, step)]
    tail = _from_keyframe(kept, tail_at)
    skipped = (head_end(head, step), tail[0].t)
    shift = skipped[1] - skipped[0]
    times = [u.t - origin for u in head] + [u.t - origin - shift for u in tail]
    return Plan(head + tail, times, origin, step, skipped)


def _tail_keyframe(kept: Sequence[Unit], last: float, max_s: float, step: float) -> int | None:
    """The keyframe (not the first) whose tail is nearest half the cap, leaving the
    head at least a frame; None when there is none."""
    keys = [i for i, u in enumerate(kept) if i and u.keyframe and last - u.t <= max_s - step]
    return min(keys, key=lambda i: abs(last - kept[i].t - max_s / 2), default=None)


def head_end(units: Sequence[Unit], step: float) -> float:
    """Where the last of these frames stops being shown."""
    return max(u.t for u in units) + step
