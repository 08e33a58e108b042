"""Server-Sent Events of newly stored answers.

The stream polls the store for answers it has not sent yet (see :class:`SentIds`),
which works the same whether answers come from the embedded run or from Kafka sinks
in other processes; an in-process notifier (fed by the embedded sink) only wakes it
early. Every event carries an id, so a client that reconnects with ``Last-Event-ID``
resumes where it stopped. A resume replays at most ``replay_max`` answers: one from
further back first gets an ``event: gap`` naming the ids it skipped (the answers list
pages history; a stream is for what is new), so streams that are never read cannot
keep the store and the thread pool busy replaying all of history. While the store is
unavailable a stream stays open, sends ``: store unavailable`` comments instead of
keep-alives, and carries on where it was when the store answers again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from connectors.store.reads import AnswerFilter, Reads, StoredAnswer
from pipeline.errors import StoreError
from workers.api.live import AnswerNotifier
from workers.ops.metrics import SSE_CLIENTS

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_MS = 2000
UNAVAILABLE = ": store unavailable\n\n"
BATCH = 100
LOOKBACK_IDS = 1000
REPLAY_MAX = 1000


def format_event(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE frame; multi-line data is split into several ``data:`` lines."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


@dataclass(frozen=True)
class StreamOptions:
    """How often to poll the store, when to send keep-alives, and when to stop."""

    poll_s: float = 1.0
    keepalive_s: float = 15.0
    closing: threading.Event = field(default_factory=threading.Event)
    lookback_ids: int = LOOKBACK_IDS
    replay_max: int = REPLAY_MAX


class SentIds:
    """Which answers a stream has sent, above a floor that trails the newest id.

    Ids are handed out at insert but become visible at commit, so with several
    writers (Kafka sinks) a lower id can appear after a higher one was sent. Polling
    from ``newest - lookback`` and skipping ids already sent catches those rows.
    """

    def __init__(self, start_id: int, lookback: int) -> None:
        self.start = start_id
        self.newest = start_id
        self.lookback = lookback
        self.sent: set[int] = set()

    @property
    def floor(self) -> int:
        return max(self.start, self.newest - self.lookback)

    def unsent(self, ids: list[int], limit: int = BATCH) -> list[int]:
        return [i for i in ids if i not in self.sent][:limit]

    def mark(self, answer_id: int) -> None:
        self.sent.add(answer_id)
        self.newest = max(self.newest, answer_id)
        if len(self.sent) > 2 * self.lookback:
            self.sent = {i for i in self.sent if i > self.floor}


class Outage:
    """Whether the store answered this stream's last read. The log is the process's:
    one line when the first open stream finds the store away, one when the last of
    them finds it back (fifty open dashboards are not fifty lines an outage)."""

    streams_down = 0  # open streams of this process whose last read failed

    def __init__(self) -> None:
        self.down = False

    async def read(self, fn: Callable[..., T], *args: object) -> T | None:
        """``fn(*args)`` in the thread pool; ``None`` while the store is unavailable."""
        try:
            result = await run_in_threadpool(fn, *args)
        except StoreError as exc:
            if not self.down:
                self._went(down=True, why=str(exc))
            return None
        if self.down:
            self._went(down=False)
        return result

    def close(self) -> None:
        """The stream ends: it no longer counts among those waiting for the store."""
        if self.down:
            self.down = False
            Outage.streams_down -= 1

    def _went(self, *, down: bool, why: str = "") -> None:
        self.down = down
        Outage.streams_down += 1 if down else -1
        if down and Outage.streams_down == 1:
            log.warning("answers streams: store unavailable, waiting for it: %s", why)
        elif not down and Outage.streams_down == 0:
            log.info("answers streams: the store answers again")


async def _poll(data: Reads, f: AnswerFilter, sent: SentIds,
                outage: Outage) -> list[StoredAnswer] | None:
    ids = await outage.read(data.answer_ids_after, f, sent.floor)
    return None if ids is None else await outage.read(data.answers_by_ids, sent.unsent(ids))


async def answer_events(
    data: Reads,
    notifier: AnswerNotifier,
    f: AnswerFilter,
    after_id: int,
    render: Callable[[StoredAnswer], dict[str, object]],
    options: StreamOptions,
    resuming: bool = True,
) -> AsyncIterator[str]:
    """Yield every answer stored after ``after_id`` that passes the filter, until closing.

    The event id is the newest answer id sent so far, so a client resuming with
    ``Last-Event-ID`` gets exactly what is newer. A stream that starts at the newest
    answer (``resuming`` False) has nothing to replay and skips reading it again.
    """
    SSE_CLIENTS.inc()
    outage = Outage()
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        newest = await outage.read(data.last_answer_id) if resuming else after_id
        while newest is None:  # a resume while the store is away: wait for it
            if options.closing.is_set():
                return
            yield UNAVAILABLE
            await notifier.wait(min(options.poll_s, options.keepalive_s))
            newest = await outage.read(data.last_answer_id)
        skipped = newest - options.replay_max > after_id
        start = newest - options.replay_max if skipped else after_id
        sent = SentIds(start, options.lookback_ids)
        if skipped:
            gap = {"after": after_id, "resumed_after": start, "replay_max": options.replay_max,
                   "detail": f"answers {after_id + 1}..{start} are not replayed; GET "
                             "/api/answers pages them"}
            yield format_event("gap", json.dumps(gap), start)
        last_sent = time.monotonic()
        while not options.closing.is_set():
            batch = await _poll(data, f, sent, outage)
            if batch is None:  # the stream stays open and goes on when the store is back
                if time.monotonic() - last_sent >= options.keepalive_s:
                    yield UNAVAILABLE
                    last_sent = time.monotonic()
                await notifier.wait(min(options.poll_s, options.keepalive_s))
                continue
            for answer in batch:
                sent.mark(answer.id)
                yield format_event("answer", json.dumps(render(answer)), sent.newest)
                last_sent = time.monotonic()
            if len(batch) >= BATCH:
                continue
            if time.monotonic() - last_sent >= options.keepalive_s:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await notifier.wait(min(options.poll_s, options.keepalive_s))
    finally:
        outage.close()
        SSE_CLIENTS.dec()
