"""Server-Sent Events of newly stored answers.

The stream polls the store for answers with an id above the last one sent, which
works the same whether answers come from the embedded run or from Kafka sinks in
other processes; an in-process notifier (fed by the embedded sink) only wakes it
early. Every event carries the answer id, so a client that reconnects with
``Last-Event-ID`` resumes without gaps or duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

from workers.api.data import AnswerFilter, ApiData, StoredAnswer
from workers.api.live import AnswerNotifier
from workers.metrics import SSE_CLIENTS

RETRY_MS = 2000


def format_event(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE frame; multi-line data is split into several ``data:`` lines."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


async def answer_events(
    data: ApiData,
    notifier: AnswerNotifier,
    f: AnswerFilter,
    after_id: int,
    render: Callable[[StoredAnswer], dict[str, object]],
    poll_s: float,
    keepalive_s: float = 15.0,
) -> AsyncIterator[str]:
    """Yield every answer stored after ``after_id`` that passes the filter, forever."""
    SSE_CLIENTS.inc()
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        last_sent = time.monotonic()
        while True:
            batch = await run_in_threadpool(data.answers_after, f, after_id)
            for answer in batch:
                after_id = answer.row.id
                yield format_event("answer", json.dumps(render(answer)), after_id)
                last_sent = time.monotonic()
            if len(batch) >= 100:
                continue
            if time.monotonic() - last_sent >= keepalive_s:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await notifier.wait(min(poll_s, keepalive_s))
    finally:
        SSE_CLIENTS.dec()
