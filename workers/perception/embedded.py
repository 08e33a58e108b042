"""Embedded mode: the whole pipeline in one process, over the in-process bus.

The path is the Kafka path with the bus swapped: the same
:class:`~workers.perception.app.PerceptionApp` ::

    source threads ──segments──▶ perceive (BatchHandler) ──answers──▶ AnswersConsumer (SQL)
    --ask, the API ──queries──▶ query source (follows the compacted topic)  + on_answer

Each source runs in its own thread and publishes :mod:`connectors.bus.messages`
segment messages. The app's query source reads the ``queries`` topic before any
segment is looked at; the main thread then polls the ``segments`` topic (up to one
segment per camera) and hands the batch to the perceive handler: decode, ONE encoder
call for the batch's frames, buffers, due windows, answers on the bus, dead letters
for the bad records. When the encoder is not on the CPU (:func:`decodes_ahead`), the
next batch, if already there, is polled with it and decoded while this one is encoded
(:mod:`workers.perception.prefetch`); offsets are committed through the handled batch.
Each turn the answers consumer stores every answer on the bus, idempotently, 500 rows
a write (retrying for a bounded budget when every source is a file, until stored when
one is live), and hands them to ``on_answer`` (the live table or ``--json``). The bus
drops what both groups have committed, so memory stays bounded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.bus import messages as msg
from connectors.bus.base import Consumer, Producer, Record, Topics
from connectors.bus.deadletter import ONCE, DeadLetters
from connectors.bus.memory import MemoryBus
from connectors.store import AnswerSink, Store, open_store
from connectors.video.uri import is_camera
from pipeline.errors import BusError, FeedwatchError, camera_reason
from pipeline.perceiver import Perceiver, PerceiverStats
from pipeline.types import Answer, Segment, StandingQuery
from workers.perception.app import Hooks, PerceptionApp
from workers.perception.handler import EncodedHook

log = logging.getLogger(__name__)

SegmentsFn = Callable[..., Iterator[Segment]]


@dataclass(frozen=True)
class CameraSource:
    """One camera of the run: its id and where its video comes from."""

    id: str
    uri: str


class EmbeddedRun:
    """Wires sources, the in-process bus, the perceiver and the store sink."""

    def __init__(
        self,
        cameras: Sequence[CameraSource],
        queries: Sequence[StandingQuery],
        perceiver: Perceiver,
        sink: AnswerSink,
        *,
        segments: SegmentsFn,
        bus: MemoryBus | None = None,
        topics: Topics | None = None,
        on_answer: Callable[[Answer], None] = lambda a: None,
        on_segment: Callable[[Segment], None] = lambda s: None,
        on_encoded: EncodedHook = lambda frames: None,
        look_ahead: bool | None = None,
    ) -> None:
        self.cameras = list(cameras)
        self.look_ahead = decodes_ahead(perceiver) if look_ahead is None else look_ahead
        self.queries = list(queries)
        self.perceiver = perceiver
        self.sink = sink
        self.segments = segments
        self.topics = topics or Topics()
        # Room for two segments per camera (a poll takes one each), three polling ahead
        per_camera = 3 if self.look_ahead else 2
        self.bus = bus or MemoryBus(
            capacity={self.topics.segments: max(8, per_camera * len(cameras))},
            compacted=[self.topics.queries],
        )
        self.on_answer = on_answer
        self.on_segment = on_segment
        self.on_encoded = on_encoded
        self.stop = threading.Event()
        self.errors: dict[str, BaseException] = {}
        self.interrupted: KeyboardInterrupt | None = None  # Ctrl-C or SIGTERM ended run()
        self._threads: list[threading.Thread] = []
        self._lock, self._ended = threading.Lock(), 0

    # -- sources ---------------------------------------------------------------
    def _read_source(self, camera: CameraSource, producer: Producer) -> None:
        try:
            for segment in self.segments(camera.uri, camera.id, stop=self.stop):
                producer.send(self.topics.segments, *msg.encode_segment(segment))
                if self.stop.is_set():
                    break
        except FeedwatchError as exc:
            if not (isinstance(exc, BusError) and self.stop.is_set()):  # stopping closes it
                self.errors[camera.id] = exc
                log.error("camera %s: %s", camera.id, camera_reason(camera.id, exc))
        except Exception as exc:  # a dead source thread must not hang the run
            self.errors[camera.id] = exc
            log.exception("camera %s failed", camera.id)
        finally:
            self._source_ended()

    def _source_ended(self) -> None:
        """Count the source out and wake the loop's poll: once every source has ended
        the loop stops waiting for more."""
        with self._lock:
            self._ended += 1
        self.bus.wake()

    def _start_sources(self) -> None:
        for camera in self.cameras:
            t = threading.Thread(
                target=self._read_source,
                args=(camera, self.bus.producer()),
                name=f"source-{camera.id}",
                daemon=True,
            )
            t.start()
            self._threads.append(t)

    def _sources_alive(self) -> bool:
        with self._lock:
            return self._ended < len(self._threads)

    @property
    def live(self) -> bool:
        """A camera among the sources (network or device), not only files."""
        return any(is_camera(c.uri) for c in self.cameras)

    # -- the application both modes run --------------------------------------------
    def app(self, producer: Producer) -> PerceptionApp:
        """The perception app over this run's bus (built when the run starts, so
        observers attached before ``run()`` are the ones it calls); answers are stored
        for a bounded retry budget when every source is a file, until stored otherwise."""
        hooks = Hooks(on_encoded=lambda frames: self.on_encoded(frames),
                      on_segment=lambda s: self.on_segment(s), on_stored=self._stored)
        return PerceptionApp.assemble(
            self.perceiver, self.bus, self.topics, self.sink, live=self.live,
            deadletters=DeadLetters(producer, self.topics.deadletter, retry=ONCE),
            producer=producer, hooks=hooks, stop=self.stop,
        )

    def _stored(self, answers: list[Answer]) -> None:
        for answer in answers:
            self.on_answer(answer)

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> PerceiverStats:
        """Run until every source has ended (files) or ``stop`` is set. Ctrl-C (or SIGTERM)
        ends it too, after storing the answers already on the bus; :attr:`interrupted`
        then holds it, for the caller to finish its report and raise again."""
        producer = self.bus.producer()
        for query in self.queries:
            producer.send(self.topics.queries, *msg.encode_query(query))
        app = self.app(producer)
        if not app.start_queries(timeout=30.0):
            raise BusError("the queries topic of the in-process bus could not be read")
        perceive = self.bus.consumer([self.topics.segments], "perceive")
        store = self.bus.consumer([self.topics.answers], "sink")
        dead = self.bus.consumer([self.topics.deadletter], "deadletters")
        self._start_sources()
        try:
            self._loop(app, perceive, store, dead)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: what is on the bus is stored
            self.interrupted = exc
            _drain(store, app.answers)  # a second Ctrl-C leaves these out
            _drain(dead, app.dead)
        finally:
            self.stop.set()
            self.bus.close()  # first: the queries follower's poll returns instead of waiting out
            app.close()
            for t in self._threads:
                t.join(timeout=5)
            self.perceiver.stats.dead_letters += app.dead_letters
        return self.perceiver.stats

    def _loop(self, app: PerceptionApp, perceive: Consumer, store: Consumer, dead: Consumer
              ) -> None:
        batch = max(1, len(self.cameras))
        ahead: list[Record] = []
        while not self.stop.is_set():
            alive = self._sources_alive()
            # up to one segment per camera: their frames share one encoder call. With
            # every source ended nothing more can come (the in-process producers hold
            # nothing in flight), so the last polls do not wait out their timeout.
            records = ahead or perceive.poll(max_records=batch, timeout=0.2 if alive else 0.0)
            # the next batch, if it is there: decoded while this one is encoded
            ahead = perceive.poll(max_records=batch) if records and self.look_ahead else []
            if app.perceive is not None:
                app.perceive(records, ahead=ahead)
            perceive.commit_through(records)  # after its answers are on the bus, not ahead
            _drain(store, app.answers)  # a turn can make more than one write's 500
            _drain(dead, app.dead)  # after the answers: the sink's own dead letters too
            if not records and not alive:
                return


def _drain(consumer: Consumer, handle: Callable[[list[Record]], Any] | None) -> None:
    while records := consumer.poll(max_records=500):
        if handle is not None:
            handle(records)
        consumer.commit()


def decodes_ahead(perceiver: Perceiver) -> bool:
    """Decode the next batch while this one is encoded only when the encoder leaves the
    CPU to it: a CPU encoder already runs on every core, and on the 2-core CPU measured
    (docs/performance.md) decoding beside it slowed the encoder by more than it hid."""
    return getattr(getattr(perceiver, "encoder", None), "device", "cpu") != "cpu"


def make_store_sink(url: str, *, wait: bool = False) -> tuple[Store, AnswerSink]:
    """The store (migrated; ``wait``: waited for, as a service does) and its sink."""
    store = open_store(url, wait=wait)
    return store, AnswerSink(store)
