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

from connectors.bus.deadletter import DeadLetters
from connectors.kafka.admin import ensure_topics, topics_of
from connectors.kafka.history import PartitionHistory
from connectors.kafka.producer import KafkaBus, KafkaBusProducer
from connectors.store import AnswerSink, open_store
from pipeline.errors import ConfigError
from workers.config import Settings
from workers.ops.heartbeat import Heartbeat
from workers.perception.app import Hooks, PerceptionApp
from workers.perception.faust_app import WorkerApp

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
    heartbeat = Heartbeat(settings.heartbeat_file or None)
    worker.add_heartbeat(heartbeat)
    store = open_store(db_url or settings.store.url, wait=True)  # a service waits for it
    app = perception_app(worker, settings, store, role, heartbeat)
    if app.perceive is not None:
        worker.add_queries(app.queries)
        worker.add_perceive(app.perceive, app.queries, k.perceive_batch_size,
                            k.perceive_batch_within_s)
    if app.answers is not None:
        worker.add_sink(app.answers, k.sink_batch_size, k.sink_batch_within_s)
    if app.dead is not None:
        worker.add_sink(app.dead, k.sink_batch_size, k.sink_batch_within_s,
                        topic=topics.deadletter, name="deadletters")
    return worker


def perception_app(worker: WorkerApp, settings: Settings, store: Any, role: str,
                   heartbeat: Heartbeat) -> PerceptionApp:
    """The app of ``feedwatch run``, over Kafka, with the parts ``role`` runs: a live
    worker stores answers until they are stored."""
    k = settings.kafka
    perceive, sink = role in ("all", "perceive"), role in ("all", "sink")
    deadletters = DeadLetters(
        KafkaBusProducer.from_config(k, "feedwatch-deadletter"), worker.topics.deadletter
    )
    writer = _frames_sink(worker, settings, store, deadletters) if sink else None
    producer = KafkaBusProducer.from_config(k, "feedwatch-perceive") if perceive else None
    app = PerceptionApp.from_settings(
        settings, KafkaBus(k), worker.topics, store, live=True, perceive=perceive,
        sink=AnswerSink(store, max_pending=max(1000, k.sink_batch_size)) if sink else None,
        deadletters=deadletters, producer=producer,
        history=PartitionHistory.from_config(k) if perceive and k.warmup else None,
        # retention runs with every stored batch too (frames may not be indexed at all)
        hooks=Hooks(on_stored=lambda answers: writer.write(
            [], [(a.camera, a.window_end) for a in answers]) if writer else None),
        heartbeat=heartbeat,
    )
    if app.perceive is not None:
        app.perceive.on_encoded = _frame_publisher(settings, app.core, producer)
    return app


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
