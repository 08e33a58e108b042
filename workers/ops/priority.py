"""A worker's CPU priority: the encoder yields to the real-time work on its host.

A CPU encoder keeps every core busy for as long as a batch lasts. On a host shared with
ingest (reading live cameras), the Kafka broker or the API, those then wait for a core,
and a segment is cut and sent late (measured: `bench e2e --ingest one` at 16 cameras on 2
cores, the ingest's cut-to-produced p95 up to 1.7 s beside a worker at the same priority,
20-440 ms beside one at nice 10; docs/performance.md). Lowering the worker's priority costs
it nothing when the others are idle.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def yield_cpu(increment: int) -> int:
    """Lower this process's CPU priority by ``increment`` (threads started later inherit
    it); returns the niceness it runs at. Where that is not allowed it says so and goes on."""
    if increment <= 0:
        return os.nice(0)
    try:
        now = os.nice(increment)
    except OSError as exc:
        log.warning("could not lower the CPU priority by %d: %s", increment, exc)
        return os.nice(0)
    log.info("CPU priority lowered: nice %d (FEEDWATCH_PERCEPTION_NICE)", now)
    return now
