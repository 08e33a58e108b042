"""The perception worker: a faust-streaming app over the feedwatch topics.

Faust provides the consumer group (partition assignment, rebalances, offset
commits); the work itself is synchronous code run in a one-thread executor so the
event loop stays responsive:

* **segments agent** — takes batches with ``stream.take_events(n, within=...)``
  (bounded in records and in time) and hands each to the
  :class:`~workers.perception.handler.BatchHandler` the embedded run drives too:
  decode, ONE encoder call for every frame of the batch (all owned cameras share
  one perceiver), buffers, due windows, answers produced and acknowledged
  (acks=all). Faust acks a batch's events only when the agent asks for the next
  batch, so offsets are committed after the batch's answers are in Kafka
  (at-least-once; the store's unique key keeps rows exactly-once).
* **queries table** — :class:`QueriesView` reads the compacted queries topic from
  the beginning with a group-less consumer and keeps following it, so every worker
  holds every query and an add, change or tombstone applies without a restart.
  Segments wait until the table has caught up with the topic's end at start-up.
* **answers agent** (optional, see :mod:`workers.sink`) — answers into SQL.

A record that cannot be processed becomes a dead letter (error, camera, partition,
offset) and the worker goes on. Handlers count segments, frames, answers, answer
latency and dead letters in :mod:`workers.ops.metrics` and touch the heartbeat file;
a Faust timer touches it too while the app runs, so an idle worker stays healthy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors.bus import messages as msg
from connectors.bus.base import Record, Topics
from pipeline.types import StandingQuery
from workers.ops.heartbeat import Heartbeat

log = logging.getLogger(__name__)

QueryApply = Callable[[str, StandingQuery | None], None]


class QueriesView:
    """The compacted queries topic, followed from the beginning by every worker."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int,
        apply: QueryApply,
        on_bad: Callable[[Record, BaseException], None] = lambda r, e: None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.apply = apply
        self.on_bad = on_bad
        self.ready = asyncio.Event()
        self.applied = 0

    async def run(self) -> None:
        """Follow the topic forever; ``ready`` is set once the start-up backlog is read."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="feedwatch-queries",
        )
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                for records in batches.values():
                    for m in records:
                        self._apply(_to_record(m))
                if not self.ready.is_set() and await _caught_up(consumer, ends):
                    log.info("queries table ready: %d record(s)", self.applied)
                    self.ready.set()
        finally:
            await consumer.stop()

    def _apply(self, record: Record) -> None:
        try:
            self.apply(*msg.decode_query(record.key, record.value, record.headers))
            self.applied += 1
        except Exception as exc:  # a bad query record is a dead letter
            self.on_bad(record, exc)


async def _caught_up(consumer: Any, ends: dict[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


def _to_record(m: Any) -> Record:
    """A bus Record from an aiokafka or faust message (timestamps to seconds)."""
    ts = float(m.timestamp or 0)
    return Record(
        topic=m.topic,
        partition=m.partition,
        offset=m.offset,
        key=m.key or b"",
        value=m.value,
        headers=[(n, bytes(v)) for n, v in m.headers or () if v is not None],
        timestamp=ts / 1000.0 if ts > 1e11 else ts,
    )


class WorkerApp:
    """Builds the Faust app and wires the handlers into agents and a task."""

    def __init__(self, settings: Any, topics: Topics, *, app_id: str, datadir: str) -> None:
        self.settings = settings
        self.topics = topics
        self.app_id = app_id
        self.datadir = datadir
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="perceive")
        self.sink_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink")
        self.app = self._faust()

    def _faust(self) -> Any:
        import faust

        k = self.settings
        return faust.App(
            self.app_id,
            broker=f"kafka://{k.bootstrap}",
            datadir=self.datadir,
            web_enabled=False,
            store="memory://",
            topic_partitions=k.partitions,
            producer_acks=-1,
            broker_session_timeout=k.session_timeout_s,
            broker_heartbeat_interval=k.heartbeat_interval_s,
            broker_commit_interval=k.commit_interval_s,
            broker_commit_every=1,
            broker_max_poll_records=k.max_poll_records,
            stream_wait_empty=False,
            stream_buffer_maxsize=max(4, k.max_poll_records * 2, k.perceive_batch_size * 2),
            consumer_max_fetch_size=k.segment_max_bytes,
            consumer_auto_offset_reset="earliest",
            producer_max_request_size=k.segment_max_bytes,
            topic_allow_declare=False,
            topic_disable_leader=True,
        )

    def _topic(self, name: str) -> Any:
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,
        )

    def add_queries(self, view: QueriesView) -> None:
        """Follow the queries topic for as long as the worker runs."""

        async def follow() -> None:
            while True:
                try:
                    await view.run()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("queries view failed; restarting")
                    await asyncio.sleep(1.0)

        self.app.task(follow)

    def add_perceive(
        self,
        handler: Callable[[list[Record]], int],
        view: QueriesView | None,
        batch: int,
        within: float,
    ) -> None:
        """The segments agent: batches of up to ``batch`` records or ``within`` seconds,
        acked (so committed) only after the batch's answers are acknowledged."""
        pool = self.pool

        async def perceive(stream: Any) -> Any:
            if view is not None:
                await view.ready.wait()
            loop = asyncio.get_running_loop()
            async for events in stream.take_events(batch, within=within):
                records = [_to_record(e.message) for e in events]
                await loop.run_in_executor(pool, handler, records)

        self.app.agent(self._topic(self.topics.segments), name="perceive", concurrency=1)(perceive)

    def add_sink(
        self, handle_batch: Callable[[list[Record]], int], batch: int, within: float
    ) -> None:
        """The answers agent: batches of records, acked after they are in SQL."""
        pool = self.sink_pool

        async def store(stream: Any) -> Any:
            loop = asyncio.get_running_loop()
            async for events in stream.take_events(batch, within=within):
                records = [_to_record(e.message) for e in events]
                await loop.run_in_executor(pool, handle_batch, records)

        self.app.agent(self._topic(self.topics.answers), name="sink", concurrency=1)(store)

    def add_heartbeat(self, heartbeat: Heartbeat, every: float = 5.0) -> None:
        """Touch the heartbeat file every ``every`` seconds while the app is not crashed."""
        app = self.app

        async def beat() -> None:
            if not app.crashed:
                heartbeat.beat()

        app.timer(every, name="heartbeat")(beat)

    def run(self, loglevel: str = "info") -> None:
        """Run the worker until SIGTERM/SIGINT."""
        import faust

        worker = faust.Worker(self.app, loglevel=loglevel, quiet=True)
        worker.execute_from_commandline()
