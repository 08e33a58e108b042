"""Deadline-aware batches of a Faust stream: wait for company only while it is cheap.

Faust's ``take_events(n, within)`` waits ``within`` seconds from the moment it starts
waiting, and stops taking records while the previous batch is processed: a record that
arrived during a long batch still waits a full ``within`` afterwards. Batching exists to
share one encoder call among cameras; once a record is late, waiting only adds to every
answer's latency. So here a batch is due as soon as it is full or its oldest record has
waited ``within`` — counted from when the record was produced (its timestamp) or when
this worker received it, whichever is earlier — and records keep arriving into the next
batch while one is processed (bounded by the batch size: a full buffer holds the stream
back). A worker that keeps up takes what came together; one that falls behind takes
everything that piled up, at once, in batches that grow with the backlog.

Each event is acked only after the batch holding it was handled (the caller's work
returned), so offsets are committed after its answers are acknowledged, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BatchPolicy:
    """When a batch of buffered records is due."""

    max_records: int
    within_s: float  # the oldest record waits at most this long for company

    def wait_s(self, count: int, arrived: float, produced: float, now: float,
               wall: float) -> float | None:
        """Seconds to wait before taking the batch (0: now; None: nothing buffered) for
        ``count`` records whose oldest arrived at monotonic ``arrived`` and was produced
        at epoch ``produced`` (0: unknown); ``now``/``wall``: the two clocks now."""
        if count == 0:
            return None
        if count >= self.max_records:
            return 0.0
        waited = now - arrived
        if produced > 0:
            waited = max(waited, wall - produced)
        return max(0.0, self.within_s - waited)


@dataclass(frozen=True)
class Taken:
    """One buffered event: when this worker received it (monotonic) and its record's
    produce time (epoch s, 0: unknown)."""

    event: Any
    received: float
    produced: float


def _produced(event: Any) -> float:
    ms = float(getattr(event.message, "timestamp", 0) or 0)
    return ms / 1000.0 if ms > 1e11 else ms


async def take_due(stream: Any, policy: BatchPolicy) -> AsyncIterator[list[Taken]]:
    """Batches of ``stream``'s events as ``policy`` says (see the module docstring)."""
    buffer: list[Taken] = []
    changed, room = asyncio.Event(), asyncio.Event()
    room.set()

    async def add(value: Any) -> Any:  # a stream processor: runs for every record
        while len(buffer) >= policy.max_records:
            room.clear()
            await stream.wait(room)
        event = stream.current_event
        got = getattr(event.message, "time_in", None) or time.monotonic()
        buffer.append(Taken(event, min(got, time.monotonic()), _produced(event)))
        changed.set()
        return value

    acks = stream.enable_acks
    stream.enable_acks = False  # acked here, after the batch was handled
    stream.add_processor(add)
    stream._enable_passive(stream.channel.__aiter__())  # noqa: SLF001 - as take_events does
    try:
        while not stream.should_stop:
            oldest = buffer[0] if buffer else None
            wait = None if oldest is None else policy.wait_s(
                len(buffer), oldest.received, oldest.produced, time.monotonic(), time.time())
            if wait is None or wait > 0:
                changed.clear()
                await stream.wait_for_stopped(changed, timeout=wait)
                continue
            batch = buffer[: policy.max_records]
            del buffer[: len(batch)]
            room.set()
            try:
                yield batch
            finally:
                for taken in batch:
                    await stream.ack(taken.event)
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add)  # noqa: SLF001
