"""The perception worker: a faust-streaming app over the feedwatch topics.

Faust provides the consumer group (partition assignment, rebalances, offset
commits); the work itself is synchronous code run in a one-thread executor so the
event loop stays responsive:

* **segments agent** — takes deadline-aware batches (:mod:`workers.perception.batching`:
  up to n records, due once the oldest has waited ``within``, filling while the previous
  batch is handled) and hands each to the
  :class:`~workers.perception.handler.BatchHandler` the embedded run drives too:
  decode, ONE encoder call for every frame of the batch (all owned cameras share
  one perceiver), buffers, due windows, answers produced and acknowledged
  (acks=all). A batch's events are acked only after its handler returned,
  so offsets are committed after the batch's answers are in Kafka
  (at-least-once; the store's unique key keeps rows exactly-once).
* **queries table** — a :class:`~connectors.bus.follow.CompactedFollower` (the one
  the API follows camera status with) reads the compacted queries topic from the
  beginning with a group-less consumer and keeps following it, so every worker
  holds every query and an add, change or tombstone applies without a restart.
  Segments wait until the table has caught up with the topic's end at start-up.
* **answers agent** (optional, see :mod:`workers.answers_consumer`) — answers into SQL.

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

from connectors.bus.base import Record, Topics
from connectors.bus.follow import CompactedFollower
from connectors.kafka.producer import to_record
from connectors.kafka.security import faust_credentials
from workers.config import KafkaSettings
from workers.ops.heartbeat import Heartbeat
from workers.perception.batching import BatchPolicy, take_due

log = logging.getLogger(__name__)


class WorkerApp:
    """Builds the Faust app and wires the handlers into agents and a task."""

    def __init__(
        self, settings: KafkaSettings, topics: Topics, *, app_id: str, datadir: str
    ) -> None:
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
            broker_credentials=faust_credentials(k),  # SASL/TLS, as every other client
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

    def add_queries(self, follower: CompactedFollower) -> None:
        """Follow the queries topic (its own thread) from the moment the app starts."""

        async def follow() -> None:
            follower.start()

        self.app.task(follow)

    def add_perceive(
        self,
        handler: Callable[[list[Record], list[float | None]], int],
        follower: CompactedFollower | None,
        batch: int,
        within: float,
    ) -> None:
        """The segments agent: batches of up to ``batch`` records, due once the oldest
        has waited ``within`` s, acked (so committed) only after the batch's answers are
        acknowledged."""
        pool, policy = self.pool, BatchPolicy(batch, within)

        async def perceive(stream: Any) -> Any:
            while follower is not None and not follower.ready.is_set():
                await asyncio.sleep(0.1)  # segments wait for the queries table
            loop = asyncio.get_running_loop()
            async for taken in take_due(stream, policy):
                records = [to_record(t.event.message) for t in taken]
                consumed: list[float | None] = [t.received for t in taken]  # monotonic
                await loop.run_in_executor(pool, handler, records, consumed)

        self.app.agent(self._topic(self.topics.segments), name="perceive", concurrency=1)(perceive)

    def add_sink(
        self,
        handle_batch: Callable[[list[Record]], int],
        batch: int,
        within: float,
        *,
        topic: str | None = None,
        name: str = "sink",
    ) -> None:
        """The answers agent (or, with ``topic``, the frames one): deadline-aware batches
        of records, acked after they are in SQL."""
        pool, policy = self.sink_pool, BatchPolicy(batch, within)

        async def store(stream: Any) -> Any:
            loop = asyncio.get_running_loop()
            async for taken in take_due(stream, policy):
                records = [to_record(t.event.message) for t in taken]
                await loop.run_in_executor(pool, handle_batch, records)

        source = self._topic(topic or self.topics.answers)
        self.app.agent(source, name=name, concurrency=1)(store)

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
