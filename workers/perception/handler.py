"""The one batch handler both modes drive: records in, acknowledged answers out.

The embedded loop (:mod:`workers.perception.embedded`) calls it with what it polled
from the in-process bus; the Faust agent (:mod:`workers.perception.faust_app`) with
the events of ``stream.take_events(n, within=...)``. Per batch:

1. :meth:`PerceiveCore.handle_batch` — decode every segment, ONE encoder call for
   all their frames (any cameras), buffers, every window that became due, answers;
2. the bad records become dead letters (camera, partition, offset) — never a dead
   worker, never silently dropped;
3. the answers are sent and flushed: the call returns once the bus acknowledged
   them, so the caller commits the batch's offsets only after that (at-least-once;
   the store's unique key keeps rows exactly-once);
4. ``on_encoded`` receives the batch's encoded frames per camera (the frame index),
   and the metrics are counted the same way in both modes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace

from pydantic import ValidationError

from connectors.bus import messages as msg
from connectors.bus.base import Producer, Record, Topics
from connectors.bus.deadletter import UNTIL_STORED, DeadLetters, camera_of
from connectors.bus.failure_messages import QueryError, encode_query_failure
from connectors.retry import RetryPolicy
from pipeline.engine import QueryFailure
from pipeline.errors import BusError, MediaError, MessageError
from pipeline.timings import STAGE_NAMES, Clock
from pipeline.types import Answer, EncodedFrame, Segment
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat
from workers.perception.ownership import BatchOutcome, PerceiveCore

log = logging.getLogger(__name__)

EncodedHook = Callable[[Mapping[str, Sequence[EncodedFrame]]], None]
UNSENT_SET_ASIDE = 3
"""Answers of one query in a row that cannot be encoded before the query is set aside for
its version (one odd window is a dead letter; a setting that makes every answer unsendable
must not log a traceback per window for ever while the query shows active)."""
WORKER_STAGES = STAGE_NAMES[: STAGE_NAMES.index("answer_produce") + 1]
"""The stages a perceive worker sees end (the sink observes ``store`` and the total)."""


def _nothing(*_: object) -> None:
    return None


@dataclass(eq=False)
class BatchHandler:
    """A batch of records in; its answers acknowledged by the bus, or dead letters."""

    core: PerceiveCore
    producer: Producer
    topics: Topics
    deadletters: DeadLetters
    _: KW_ONLY
    retry: RetryPolicy = UNTIL_STORED
    on_encoded: EncodedHook = _nothing
    on_answers: Callable[[Sequence[Answer]], None] = _nothing
    on_segment: Callable[[Segment], None] = _nothing
    heartbeat: Heartbeat = field(default_factory=lambda: Heartbeat(None))
    _unsent: dict[str, int] = field(default_factory=dict, init=False)  # query id: in a row

    def __call__(self, records: Sequence[Record],
                 consumed: Sequence[float | None] | None = None, *,
                 ahead: Sequence[Record] = ()) -> int:
        """Handle ``records`` (``consumed``: per record, the monotonic time its consumer
        received it; ``ahead``: the batch the caller hands over next, decoded while this
        one is encoded); returns the number of answers produced."""
        self.heartbeat.beat()
        if not records:
            return 0
        clock = Clock()
        metrics.observe_lag("perceive", clock.now(), (r.timestamp for r in records))
        outcome = self.core.handle_batch(records, clock=clock, consumed=consumed, ahead=ahead)
        for record, exc, stage in outcome.failed:
            self._dead_letter(record, exc, stage)
        for failure in outcome.query_failures:
            self._dead_query(failure)
        outcome.answers = self._produce(outcome.answers, clock)
        self._count(outcome)
        self._hooks(outcome)
        return len(outcome.answers)

    def close(self) -> None:
        """End the core's decode-ahead thread."""
        self.core.close()

    def _produce(self, answers: Sequence[Answer], clock: Clock) -> list[Answer]:
        """Send and flush the answers, each stamped ``answer_produced`` as it is encoded."""
        answers = [replace(a, timings={**a.timings, "answer_produced": clock.now()})
                   for a in answers]
        messages = [m for m in map(self._encoded, answers) if m is not None]
        if not messages:
            return answers

        def send_all() -> None:  # broker away: keep the offsets, retry the batch's answers
            for message in messages:
                self.producer.send(self.topics.answers, *message)
            self.producer.flush()

        self.retry.call(send_all, "producing answers", on=BusError, logger=log)
        return answers

    def _encoded(self, answer: Answer) -> msg.Message | None:
        """The answer as a bus message; one that cannot be encoded is a dead letter."""
        try:
            message = msg.encode_answer(answer)
        except ValidationError as exc:  # name the field, not "1 validation error for ..."
            self._dead_answer(answer, msg.refusal("answer", exc))
            return None
        except Exception as exc:  # one bad answer never stops the worker
            self._dead_answer(answer, exc)
            return None
        self._unsent.pop(answer.query_id, None)
        return message

    def _dead_answer(self, answer: Answer, exc: Exception) -> None:
        log.error(
            "answer of %s on %s at %s cannot be encoded",
            answer.query_id,
            answer.camera,
            answer.window_end,
            exc_info=exc,
        )
        original = (answer.query_id.encode(), f"{answer.camera}@{answer.window_end}".encode(), [])
        self.retry.call(
            lambda: self.deadletters.publish(
                original, exc, stage="answer", topic=self.topics.answers, camera=answer.camera
            ),
            "dead letter of an answer",
            on=BusError,
            logger=log,
        )
        stats = self.core.perceiver.stats
        stats.dead_letters += 1  # the run's summary counts it
        stats.unsent += 1  # and does not take it for an answer stored before
        metrics.DEAD_LETTERS.labels(stage="answer").inc()
        failed = self._unsent[answer.query_id] = self._unsent.get(answer.query_id, 0) + 1
        perceiver = self.core.perceiver
        query = perceiver.scheduler.query(answer.query_id)
        if query is not None and failed >= UNSENT_SET_ASIDE:  # it will not be carried
            perceiver.engine.set_aside(query, "answer", answer.camera, exc)
            for failure in perceiver.engine.take_failures():
                self._dead_query(failure)

    def _dead_query(self, failure: QueryFailure) -> None:
        """A query set aside (its answerer failed to build or to answer): one dead letter
        per (query, version), keyed by the query with its message as the value."""
        query, stage = failure.query, f"query-{failure.stage}"
        log.error("query %s v%d set aside (%s%s); the other queries go on", query.id,
                  query.version, stage, f" on {failure.camera}" if failure.camera else "",
                  exc_info=failure.error)
        try:
            key, value, _ = msg.encode_query(query)
        except Exception:  # noqa: BLE001 - a query the bus would not carry: its id only
            key, value = query.id.encode(), None
        self.retry.call(
            lambda: self.deadletters.publish((key, value, []), failure.error, stage=stage,
                                             topic=self.topics.queries, camera=failure.camera),
            "dead letter of a query", on=BusError, logger=log,
        )
        stats = self.core.perceiver.stats
        stats.dead_letters += 1
        stats.failed_queries.setdefault(
            failure.query.id, f"{type(failure.error).__name__}: {failure.error}".splitlines()[0])
        metrics.DEAD_LETTERS.labels(stage=stage).inc()
        self._report(QueryError.of_failure(failure, time.time()))

    def _report(self, error: QueryError) -> None:
        """The failure on the answers topic, keyed by the query: the answers consumer
        records it in the store (a Kafka worker has none), so the query shows failed."""
        report = encode_query_failure(error)

        def send() -> None:
            self.producer.send(self.topics.answers, *report)
            self.producer.flush()

        self.retry.call(send, "reporting a query failure", on=BusError, logger=log)

    def _count(self, outcome: BatchOutcome) -> None:
        for segment in outcome.segments:
            metrics.SEGMENTS.labels(camera=segment.camera).inc()
        for camera, frames in outcome.encoded.items():
            metrics.FRAMES_ENCODED.labels(camera=camera).inc(len(frames))
        metrics.count_answers(outcome.answers)
        for skip in outcome.skips:
            metrics.WINDOWS_SKIPPED.labels(camera=skip.camera, reason=skip.reason).inc(skip.windows)
        for answer in outcome.answers:
            metrics.observe_stages(answer.timings, WORKER_STAGES)
        metrics.observe_encoder(getattr(self.core.perceiver, "encoder", None))

    def _hooks(self, outcome: BatchOutcome) -> None:
        try:
            if outcome.encoded:
                self.on_encoded(outcome.encoded)
            self.on_answers(outcome.answers)
            for segment in outcome.segments:
                self.on_segment(segment)
        except Exception:  # an observer's failure never costs the answers
            log.exception("a perception hook failed")

    def _dead_letter(self, record: Record, exc: BaseException, stage: str) -> None:
        if not isinstance(exc, MessageError | MediaError):
            log.error(
                "unexpected error on %s[%d]@%d (camera %s)",
                record.topic,
                record.partition,
                record.offset,
                camera_of(record),
                exc_info=exc,
            )
        self.deadletters.publish_record(record, exc, stage=stage)
        self.core.perceiver.stats.dead_letters += 1
        metrics.DEAD_LETTERS.labels(stage=stage).inc()
        if stage == "queries":
            self.report_refused(record, exc)

    def report_refused(self, record: Record, exc: BaseException) -> None:
        """A refused ``queries`` message: its query shows failed, with why (a query the
        store lists must not go unanswered without a word)."""
        error = QueryError.of_refused(record.key, record.value, exc, time.time())
        if error is not None:
            self._report(error)
