"""One perception application for both modes: ``feedwatch run`` runs it over the
in-process bus, ``feedwatch worker`` over Kafka (as quix-streams' ``Application`` or
bytewax's ``Dataflow`` is one object run locally or on a cluster).

:meth:`PerceptionApp.from_settings` builds it in one place; :meth:`PerceptionApp.assemble`
takes the perceiver and the store's sink ready (tests hand it fakes). Its parts:

* ``queries``, the query source: the compacted ``queries`` topic followed from its
  beginning (:class:`~connectors.bus.follow.CompactedFollower`); segments wait until it
  has been read, and a query that does not decode is a dead letter;
* ``perceive``: the :class:`~workers.perception.handler.BatchHandler` over the
  :class:`~workers.perception.ownership.PerceiveCore` — decode, one encoder call per
  batch, due windows, answers on the bus, dead letters;
* ``answers``: the :class:`~workers.answers_consumer.AnswersConsumer` into the store,
  retrying as the mode says (:func:`~workers.answers_consumer.store_retry`);
* ``dead``: the :class:`~workers.deadletters_consumer.DeadLettersConsumer`, the
  ``deadletter`` topic into the store's ``dead_letters`` table (with the answers).

Only the driver differs: the embedded loop (:mod:`workers.perception.embedded`) polls
the in-process bus, Faust agents (:mod:`workers.perception.faust_app`) poll Kafka.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.bus import messages as msg
from connectors.bus.base import Bus, Producer, Record, Topics
from connectors.bus.deadletter import DeadLetters
from connectors.bus.follow import CompactedFollower
from connectors.store import AnswerSink, Store
from pipeline.perceiver import Perceiver
from pipeline.types import Answer
from workers.answers_consumer import AnswersConsumer, store_retry
from workers.config import Settings
from workers.deadletters_consumer import DeadLettersConsumer
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat
from workers.perception.build import perceiver_from_settings
from workers.perception.handler import BatchHandler, EncodedHook
from workers.perception.ownership import History, PerceiveCore


@dataclass(frozen=True)
class Hooks:
    """What a driver watches: encoded frames (history), segments, stored answers."""

    on_encoded: EncodedHook = lambda frames: None
    on_segment: Callable[[Any], None] = lambda segment: None
    on_stored: Callable[[list[Answer]], None] = lambda answers: None


@dataclass(eq=False)
class PerceptionApp:
    """The query source, the perceive handler and the answers consumer over one bus
    (a worker with only one role has only that role's parts)."""

    core: PerceiveCore | None
    perceive: BatchHandler | None  # None: a worker with only the sink role
    queries: CompactedFollower | None
    answers: AnswersConsumer | None  # None: a worker with only the perceive role
    deadletters: DeadLetters
    dead: DeadLettersConsumer | None = None  # with a store-backed sink: dead letters kept
    query_dead_letters: int = field(default=0, init=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, bus: Bus, topics: Topics, store: Store, *,
        live: bool, perceive: bool = True, sink: AnswerSink | None = None,
        deadletters: DeadLetters, producer: Producer | None = None,
        history: History | None = None, hooks: Hooks = Hooks(),
        heartbeat: Heartbeat | None = None, stop: threading.Event | None = None,
    ) -> PerceptionApp:
        """Everything from the settings: the perceiver (its answerers keep their
        baselines in ``store``, so they survive restarts and takeovers) and the parts."""
        from connectors.store.feedback import StoreStates

        perceiver = perceiver_from_settings(
            settings.perception, states=StoreStates(store)) if perceive else None
        return cls.assemble(perceiver, bus, topics, sink, live=live, deadletters=deadletters,
                            producer=producer, history=history, hooks=hooks,
                            heartbeat=heartbeat, stop=stop)

    @classmethod
    def assemble(
        cls, perceiver: Perceiver | None, bus: Bus, topics: Topics, sink: AnswerSink | None,
        *, live: bool, deadletters: DeadLetters, producer: Producer | None = None,
        history: History | None = None, hooks: Hooks = Hooks(),
        heartbeat: Heartbeat | None = None, stop: threading.Event | None = None,
    ) -> PerceptionApp:
        """The parts around a ready perceiver (None: no perceive role) and ``sink``
        (None: no answers consumer)."""
        beat = heartbeat or Heartbeat(None)
        core = perceive = queries = answers = dead = None
        if perceiver is not None:
            core = PerceiveCore(perceiver, history)
            perceive = BatchHandler(core, producer or bus.producer(), topics, deadletters,
                                    heartbeat=beat, on_encoded=hooks.on_encoded,
                                    on_segment=hooks.on_segment)
            queries = CompactedFollower(bus, topics.queries, name="queries-follow")
        if sink is not None:
            answers = AnswersConsumer(sink, deadletters, retry=store_retry(live),
                                      on_stored=hooks.on_stored, heartbeat=beat, stop=stop)
            book = getattr(sink, "dead_letter_log", None)  # None: an in-memory sink
            if book is not None:
                dead = DeadLettersConsumer(book(), retry=store_retry(live), stop=stop)
        app = cls(core, perceive, queries, answers, deadletters, dead)
        if queries is not None:
            queries.on_record = app.apply_query
        return app

    def apply_query(self, record: Record) -> bool:
        """A query record (or its tombstone) into the core; a bad one is a dead letter,
        never a dead worker."""
        core = self.core
        if core is None:  # no perceive role: nothing follows the queries
            return False
        try:
            core.on_query(*msg.decode_query(record.key, record.value, record.headers))
            return True
        except Exception as exc:
            self.deadletters.publish_record(record, exc, stage="queries", camera="")
            self.query_dead_letters += 1
            metrics.DEAD_LETTERS.labels(stage="queries").inc()
            if self.perceive is not None:
                self.perceive.report_refused(record, exc)
            return False

    def start_queries(self, timeout: float | None = None) -> bool:
        """Follow the queries topic; True once what it held is applied (within ``timeout``)."""
        if self.queries is None:
            return True
        self.queries.start()
        return self.queries.ready.wait(timeout)

    def stop_queries(self) -> None:
        if self.queries is not None:
            self.queries.stop()

    def close(self) -> None:
        """Stop following the queries and end the perceive handler's decode-ahead thread."""
        self.stop_queries()
        if self.perceive is not None:
            self.perceive.close()

    @property
    def dead_letters(self) -> int:
        """Records the app dead-lettered outside the perceive stage (queries, answers)."""
        return self.query_dead_letters + (self.answers.dead_letters if self.answers else 0)
