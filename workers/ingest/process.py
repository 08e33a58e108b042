"""The ingest process: one camera's stream → segments → one sink, with status.

The sink is chosen by flag. Each sink flag is a key of :data:`SINKS` (the click
parameter name) mapped to a builder; adding a sink means one option on the
``feedwatch ingest`` command and one entry here. Exactly one sink is required.

With ``--kafka`` the camera's stream status (connecting … ended, last segment) is
also published to the compacted status topic, which ``feedwatch api --kafka``
follows. Every status event and segment touches the heartbeat file
(``FEEDWATCH_HEARTBEAT_FILE``) and counts in the Prometheus metrics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.bus.base import Producer
from connectors.retry import RetryPolicy
from pipeline.errors import BackpressureError, ConfigError
from pipeline.timings import when
from workers.config import Settings
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat

if TYPE_CHECKING:
    from connectors.kafka.status import StatusPublisher
    from connectors.video.base import SegmentSink
    from connectors.video.status import StatusEvent, StreamProfile
    from pipeline.types import Segment

SinkBuilder = Callable[[Any, Settings], "SegmentSink"]
log = logging.getLogger(__name__)
FLUSH_RETRY = RetryPolicy(initial=0.2, maximum=10.0)


def _directory_sink(value: Any, settings: Settings) -> SegmentSink:
    from connectors.video.segment_sinks import DirectorySink

    if not str(value).strip():
        raise ConfigError("--to-dir", value, "a directory path")
    return DirectorySink.from_config(value)


def _kafka_sink(value: Any, settings: Settings) -> SegmentSink:
    from connectors.kafka import KafkaSegmentSink, ensure_topics

    kafka = settings.kafka.with_bootstrap(value)
    ensure_topics(kafka)
    return KafkaSegmentSink.from_config(kafka)


SINKS: dict[str, SinkBuilder] = {"to_dir": _directory_sink, "kafka": _kafka_sink}
"""Sink flag (click parameter name) → builder of a ``SegmentSink``."""


def build_status(flags: dict[str, Any], settings: Settings, camera: str) -> StatusPublisher | None:
    """The status publisher of a ``--kafka`` ingest (topics exist once its sink is built)."""
    if flags.get("kafka") is None:
        return None
    from connectors.kafka.status import StatusPublisher

    kafka = settings.kafka.with_bootstrap(flags["kafka"])
    return StatusPublisher.from_config(kafka, camera)


def build_statuses(
    flags: dict[str, Any], settings: Settings
) -> tuple[Callable[[str], StatusPublisher | None], Callable[[], None]]:
    """Per camera, the status publisher of a ``--kafka`` ingest of several cameras, all on
    one producer; and what closes that producer once every publisher is closed."""
    if flags.get("kafka") is None:
        return (lambda _camera: None), (lambda: None)
    from connectors.kafka.admin import status_topic_of
    from connectors.kafka.producer import KafkaBusProducer
    from connectors.kafka.status import StatusPublisher

    kafka = settings.kafka.with_bootstrap(flags["kafka"])
    producer = KafkaBusProducer.from_config(kafka, "feedwatch-status")
    shared = _Unclosed(producer)
    topic = status_topic_of(kafka)
    return (lambda camera: StatusPublisher(shared, topic, camera)), producer.close


class _Unclosed(Producer):
    """A producer shared by several status publishers: closing one leaves it open."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer

    def send(self, topic: str, key: bytes, value: bytes | None,
             headers: Sequence[tuple[str, bytes]] = ()) -> None:
        self.producer.send(topic, key, value, headers)

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout)


def build_sink(flags: dict[str, Any], settings: Settings) -> SegmentSink:
    """The one sink named by the flags; none or several is a ``ConfigError``."""
    chosen = {k: v for k, v in flags.items() if k in SINKS and v is not None}
    names = ", ".join("--" + k.replace("_", "-") for k in SINKS)
    if len(chosen) != 1:
        raise ConfigError("sink", sorted(chosen) or None, f"choose exactly one of {names}")
    ((key, value),) = chosen.items()
    return SINKS[key](value, settings)


def flush(sink: SegmentSink, sleep: Callable[[float], None] | None = None) -> None:
    """Flush, waiting out backpressure (``retry_after``) instead of dropping data."""
    FLUSH_RETRY.retrying("flushing segments", on=BackpressureError, sleep=sleep, logger=log)(
        sink.flush
    )


@dataclass(eq=False)
class IngestReporter:
    """What ingest tells the outside world: log lines, status topic, heartbeat, metrics."""

    camera: str
    say: Callable[[str], None]
    status: StatusPublisher | None = None
    heartbeat: Heartbeat = field(default_factory=Heartbeat.from_env)

    def observe(self, event: StatusEvent) -> None:
        """A ``StatusObserver``: the stream changed state."""
        self.say(f"[{event.state.value}] {event.detail}".rstrip())
        self.heartbeat.beat()
        metrics.CAMERA_UP.labels(camera=self.camera).set(
            1.0 if event.state.value == "connected" else 0.0
        )
        if self.status is not None:
            self.status.observe(event)

    def segment(self, seg: Segment, profile: StreamProfile | None = None) -> None:
        """A segment reached the sink (flushed); ``profile``: the stream as measured."""
        self.heartbeat.beat()
        metrics.SEGMENTS.labels(camera=seg.camera).inc()
        if self.status is not None:
            self.status.saw_segment(seg, profile)
        carried = f" (+{seg.lead:.2f}s carried)" if seg.lead else ""
        stream = profile.describe() if profile else f"{seg.codec} {seg.width}x{seg.height}"
        self.say(
            f"segment {seg.seq}: {when(seg.start)} +{seg.duration:.2f}s{carried} "
            f"{stream} {len(seg.data) / 1024:.0f} KiB"
        )

    def close(self) -> None:
        if self.status is not None:
            self.status.close()


def run_ingest(
    uri: str,
    camera: str,
    settings: Settings,
    sink: SegmentSink,
    *,
    realtime: bool = False,
    max_segments: int | None = None,
    say: Callable[[str], None] = lambda _msg: None,
    status: StatusPublisher | None = None,
    heartbeat: Heartbeat | None = None,
) -> str:
    """Segments into ``sink`` until the source ends, ``max_segments``, or Ctrl-C; returns
    one line saying what was ingested.

    ``say`` receives the status and per-segment lines; ``status`` (``--kafka``) every
    stream status event and segment, and is closed (``ended``) when ingest stops.
    """
    from connectors.video.resilience import LiveSegments

    report = IngestReporter(camera, say, status, heartbeat or Heartbeat.from_env())
    stop = threading.Event()
    try:
        start = sink.next_seq(camera) if hasattr(sink, "next_seq") else 0
        live = LiveSegments.from_config(
            uri,
            camera,
            settings=settings.video,
            realtime=realtime,
            start_seq=start,
            stop=stop,
            observer=report.observe,
        )
        count, total = _pump(live, sink, report, stop, max_segments)
    finally:
        report.close()
    return (f"ingested {count} segments ({total / 1e6:.1f} MB) from {uri} as {camera}: "
            f"{live.profile.describe()}")


def _pump(
    live: Any,
    sink: SegmentSink,
    report: IngestReporter,
    stop: threading.Event,
    max_segments: int | None,
) -> tuple[int, int]:
    """Segments of ``live`` into ``sink``; returns (count, bytes)."""
    count, total = 0, 0
    produced = iter(live)
    try:
        for seg in produced:
            sink.add(seg)
            flush(sink)
            count, total = count + 1, total + len(seg.data)
            report.segment(seg, live.profile)
            if max_segments is not None and count >= max_segments:
                stop.set()
                break
    finally:
        produced.close()  # a generator: releases the source
        sink.close()
    return count, total
