"""The latency waterfall: when an answer passed each point of its path, and the stages
between those points.

An answer's ``timings`` maps an event of :data:`EVENTS` to a time in UTC epoch seconds.
Inside one process the times of one batch come from the monotonic clock, placed on the
wall clock through one anchor read when the batch starts (:class:`Clock`), so a duration
inside a process is exact even when the wall clock is stepped meanwhile. The hops between
processes (ingest → worker → sink) compare wall clocks: exact on one host (the bench),
as good as the hosts' clock synchronisation (NTP, PTP) in a deployment, where a skew
shows up as a hop that is too long or negative.

A stage is the time between two events (:data:`STAGES`); a stage whose two events are
not both known (a file run has no ``filmed``) is left out rather than guessed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

EVENTS: tuple[str, ...] = (
    "filmed",  # the segment's last frame, on a stream clock that is the wall clock (live)
    "closed",  # the segment was cut at ingest
    "produced",  # its record was handed to the bus (the record's timestamp)
    "consumed",  # the worker's consumer received the record
    "batch_start",  # the batch holding it started
    "decoded",  # its frames were decoded
    "encoded",  # the batch's encoder call returned
    "answered",  # the answers it made due were evaluated
    "answer_produced",  # the answer was handed to the bus
    "stored",  # the answer's row was committed (the sink; the bench: the row seen)
)

STAGES: tuple[tuple[str, str, str], ...] = (
    ("cut", "filmed", "closed"),
    ("produce", "closed", "produced"),
    ("segment_hop", "produced", "consumed"),
    ("batch_wait", "consumed", "batch_start"),
    ("decode", "batch_start", "decoded"),
    ("encode", "decoded", "encoded"),
    ("answer", "encoded", "answered"),
    ("answer_produce", "answered", "answer_produced"),
    ("store", "answer_produced", "stored"),
)
"""(stage, from event, to event), in path order."""

STAGE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in STAGES)
WALL_STREAM = 1e9
"""Stream times above this are wall-clock epoch seconds (a live camera); file times are
seconds from the start of the file and say nothing about when a frame was filmed."""


def when(t: float) -> str:
    """A stream time for people: UTC ISO for wall-clock times, seconds for files."""
    if t > WALL_STREAM:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return f"{t:.2f}s"


def clock(t: float, digits: int = 0) -> str:
    """A stream time in a narrow column: ``HH:MM:SS`` UTC (``digits`` decimals) for
    wall-clock times, ``12.5s`` style seconds for files."""
    if t > WALL_STREAM:
        stamp = datetime.fromtimestamp(round(t, digits), UTC)
        text = stamp.strftime("%H:%M:%S")
        return f"{text}.{stamp.microsecond:06d}"[: len(text) + 1 + digits] if digits else text
    return f"{t:.{digits}f}s" if digits else f"{t:g}s"


class Clock:
    """The wall clock of one batch: read once, then advanced by the monotonic clock."""

    def __init__(self) -> None:
        self.wall0 = time.time()
        self.mono0 = time.monotonic()

    def now(self) -> float:
        """Now, in UTC epoch seconds."""
        return self.at(time.monotonic())

    def at(self, mono: float) -> float:
        """A ``time.monotonic()`` reading of this process, in UTC epoch seconds."""
        return self.wall0 + (mono - self.mono0)


def segment_events(filmed: float, closed: float, produced: float) -> dict[str, float]:
    """The events a segment brings with it (0 or a file time: not known)."""
    known = {"filmed": filmed if filmed > WALL_STREAM else 0.0, "closed": closed,
             "produced": produced}
    return {name: t for name, t in known.items() if t > 0 and math.isfinite(t)}


def stages_ms(timings: Mapping[str, float]) -> dict[str, float]:
    """Milliseconds of every stage whose two events are known, in path order."""
    return {name: (timings[b] - timings[a]) * 1000.0
            for name, a, b in STAGES if a in timings and b in timings}


def total_ms(timings: Mapping[str, float]) -> float | None:
    """From the first known event to the last, in milliseconds (None: fewer than two)."""
    known = [timings[e] for e in EVENTS if e in timings]
    return (known[-1] - known[0]) * 1000.0 if len(known) > 1 else None


def nearest_rank(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def waterfall(timings: Iterable[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per stage over many answers: ``{stage: {p50_ms, p95_ms, mean_ms, n}}`` in path
    order, plus ``total`` (first known event to last)."""
    per: dict[str, list[float]] = {name: [] for name in (*STAGE_NAMES, "total")}
    for t in timings:
        for name, ms in stages_ms(t).items():
            per[name].append(ms)
        total = total_ms(t)
        if total is not None:
            per["total"].append(total)
    return {name: _summary(v) for name, v in per.items() if v}


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(nearest_rank(values, 50), 1),
            "p95_ms": round(nearest_rank(values, 95), 1),
            "mean_ms": round(sum(values) / len(values), 1), "n": len(values)}


def dominant(summary: Mapping[str, Mapping[str, float]]) -> str | None:
    """The stage with the largest mean: where most of an answer's time goes."""
    stages = [(s["mean_ms"], name) for name, s in summary.items() if name != "total"]
    return max(stages)[1] if stages else None
