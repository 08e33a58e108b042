"""Builds a scale-out worker from the typed settings (``feedwatch worker``).

Roles: ``perceive`` (segments → answers), ``sink`` (answers → SQL), ``all`` (both
agents in one process, the default). Everything heavy (models, database, Kafka
clients) is opened here, once, and handed to the handlers ready. Every role touches
the heartbeat file (``FEEDWATCH_HEARTBEAT_FILE``) from its handlers and a timer.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.bus.follow import CompactedFollower
from connectors.kafka.admin import ensure_topics, topics_of
from connectors.kafka.history import PartitionHistory
from connectors.kafka.producer import KafkaBus, KafkaBusProducer
from connectors.store import open_store
from pipeline.errors import ConfigError
from workers.answers_consumer import AnswersConsumer
from workers.config import Settings
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat
from workers.perception.build import perceiver_from_settings
from workers.perception.faust_app import WorkerApp
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore

log = logging.getLogger(__name__)

ROLES = ("all", "perceive", "sink")


def build_worker(settings: Settings, db_url: str, role: str = "all") -> WorkerApp:
    """A ready :class:`WorkerApp` for ``role``; topics are created if missing."""
    if role not in ROLES:
        raise ConfigError("--role", role, f"one of {', '.join(ROLES)}")
    k = settings.kafka
    if not k.bootstrap:
        raise ConfigError("--kafka", k.bootstrap, "a bootstrap address host:port")
    ensure_topics(k)
    topics = topics_of(k)
    datadir = k.datadir or tempfile.mkdtemp(prefix=f"feedwatch-worker-{os.getpid()}-")
    app_id = k.sink_group_id if role == "sink" else k.group_id
    worker = WorkerApp(k, topics, app_id=app_id, datadir=datadir)
    deadletters = DeadLetters(
        KafkaBusProducer.from_config(k, "feedwatch-deadletter"), topics.deadletter
    )
    heartbeat = Heartbeat(settings.heartbeat_file or None)
    worker.add_heartbeat(heartbeat)
    if role in ("all", "perceive"):
        _add_perceive(worker, settings, deadletters, heartbeat, db_url)
    if role in ("all", "sink"):
        _add_sink(worker, settings, db_url, deadletters, heartbeat)
    return worker


def _add_perceive(
    worker: WorkerApp, settings: Settings, deadletters: DeadLetters, heartbeat: Heartbeat,
    db_url: str = "",
) -> None:
    from connectors.store.feedback import StoreStates

    k = settings.kafka
    history = PartitionHistory.from_config(k) if k.warmup else None
    states = StoreStates(open_store(db_url or settings.store.url))  # baselines survive takeover
    core = PerceiveCore(perceiver_from_settings(settings.perception, states=states), history)
    producer = KafkaBusProducer.from_config(k, "feedwatch-perceive")
    handler = BatchHandler(core, producer, worker.topics, deadletters, heartbeat=heartbeat,
                           on_encoded=_frame_publisher(settings, core, producer))

    def apply_query(record: Record) -> bool:
        try:
            core.on_query(*msg.decode_query(record.key, record.value, record.headers))
            return True
        except Exception as exc:  # a bad query record is a dead letter, never a dead worker
            deadletters.publish_record(record, exc, stage="queries", camera="")
            metrics.DEAD_LETTERS.labels(stage="queries").inc()
            return False

    follower = CompactedFollower(
        KafkaBus(k), worker.topics.queries, apply_query, name="queries-follow"
    )
    worker.add_queries(follower)
    worker.add_perceive(handler, follower, k.perceive_batch_size, k.perceive_batch_within_s)


def _add_sink(
    worker: WorkerApp,
    settings: Settings,
    db_url: str,
    deadletters: DeadLetters,
    heartbeat: Heartbeat,
) -> None:
    from connectors.store import AnswerSink

    k = settings.kafka
    url = db_url or settings.store.url
    store = open_store(url)
    writer = _frames_sink(worker, settings, store, deadletters)
    handler = AnswersConsumer(
        AnswerSink(store, max_pending=max(1000, k.sink_batch_size)),
        deadletters,
        heartbeat=heartbeat,
        # retention runs with every stored batch too (frames may not be indexed at all)
        on_stored=lambda answers: writer.write([], [(a.camera, a.window_end) for a in answers]),
    )
    worker.add_sink(handler, k.sink_batch_size, k.sink_batch_within_s)


def _frame_publisher(settings: Settings, core: Any, producer: Any) -> Any:
    """The perceive side of history: every encoded frame onto the frames topic."""
    from connectors.kafka import frames_topic_of
    from workers.history.kafka import FramePublisher
    from workers.history.writer import index_policy

    if not settings.history.index:
        return lambda frames: None
    model = core.perceiver.encoder.model_id
    return FramePublisher(producer, frames_topic_of(settings.kafka), model,
                          index_policy(settings.history))


def _frames_sink(
    worker: WorkerApp, settings: Settings, store: Any, deadletters: DeadLetters
) -> Any:
    """The sink side of history: frames into the index, and retention of every table."""
    from connectors.kafka import frames_topic_of
    from workers.history.kafka import FrameBatchHandler
    from workers.history.writer import build_writer

    k = settings.kafka
    writer = build_writer(settings, store.engine, model_id="")
    worker.add_sink(FrameBatchHandler(writer, deadletters), k.sink_batch_size,
                    k.sink_batch_within_s, topic=frames_topic_of(k), name="frames")
    return writer
