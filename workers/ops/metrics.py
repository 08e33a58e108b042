"""Prometheus metric objects every feedwatch process increments.

One module holds them all so the names stay consistent; import the object and
increment it where the work happens (``SEGMENTS.labels(camera=c).inc()``). The API
serves them at ``GET /metrics``; a worker without the API can expose them with
``prometheus_client.start_http_server``. Labels are bounded sets (camera ids,
answerer types, stages), never free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.types import Answer

T = TypeVar("T")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SEGMENTS = Counter("feedwatch_segments_total", "Video segments produced or consumed.", ["camera"])
FRAMES_ENCODED = Counter(
    "feedwatch_frames_encoded_total", "Frames passed through the CLIP image encoder.", ["camera"]
)
ANSWERS = Counter("feedwatch_answers_total", "Answers produced.", ["answerer", "matched"])
ANSWERS_STORED = Counter(
    "feedwatch_answers_stored_total", "Answers written to the SQL store (new rows only)."
)
DEAD_LETTERS = Counter(
    "feedwatch_dead_letters_total", "Records sent to the dead-letter topic.", ["stage"]
)
ENCODE_LATENCY = Histogram(
    "feedwatch_encode_latency_seconds",
    "CLIP image encoding time per batch of frames.",
    buckets=_LATENCY_BUCKETS,
)
ANSWER_LATENCY = Histogram(
    "feedwatch_answer_latency_seconds",
    "Time the pipeline spent producing one answer (selection + answerer), per answerer.",
    ["answerer"],
    buckets=_LATENCY_BUCKETS,
)
ENCODER_FRAMES = Gauge(
    "feedwatch_encoder_frames",
    "Frames the CLIP image encoder encoded since the process started (its own counter).",
)
ENCODER_CALLS = Gauge(
    "feedwatch_encoder_calls",
    "Calls of the CLIP image encoder since the process started; frames per call = batching.",
)
SEGMENT_DECODE_LATENCY = Histogram(
    "feedwatch_segment_decode_seconds", "Segment decode time.", buckets=_LATENCY_BUCKETS
)
HTTP_LATENCY = Histogram(
    "feedwatch_api_request_seconds",
    "API request handling time.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
SSE_CLIENTS = Gauge("feedwatch_api_sse_clients", "Open live-answer streams.")
CAMERA_UP = Gauge(
    "feedwatch_camera_connected", "1 while a camera stream is connected, else 0.", ["camera"]
)

HOOK_ATTEMPTS = Counter(
    "feedwatch_hook_attempts_total",
    "Alert delivery attempts by outcome (delivered, retry, dead).",
    ["outcome"],
)


def count_answers(answers: Iterable[Answer]) -> None:
    """Answers produced: per answerer and outcome, and how long each one took."""
    for answer in answers:
        matched = "none" if answer.matched is None else str(answer.matched).lower()
        ANSWERS.labels(answerer=answer.answerer, matched=matched).inc()
        ANSWER_LATENCY.labels(answerer=answer.answerer).observe(answer.latency_ms / 1000.0)


def observe_encoder(encoder: Any) -> None:
    """Copy the encoder's own frame and call counters into the gauges."""
    ENCODER_FRAMES.set(getattr(encoder, "vision_frames_encoded", 0))
    ENCODER_CALLS.set(getattr(encoder, "encode_calls", 0))


class TimedEncoder:
    """An image encoder whose ``encode_frames`` calls are timed (``ENCODE_LATENCY``);
    everything else is the wrapped encoder's."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder

    def encode_frames(self, frames: Any) -> Any:
        with ENCODE_LATENCY.time():
            return self.encoder.encode_frames(frames)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)


def timed_decode(decode: Callable[[Any, float], T]) -> Callable[[Any, float], T]:
    """A segment decoder timed into ``SEGMENT_DECODE_LATENCY``."""

    def timed(segment: Any, fps: float) -> T:
        with SEGMENT_DECODE_LATENCY.time():
            return decode(segment, fps)

    return timed


def serve(port: int, addr: str = "0.0.0.0") -> bool:  # noqa: S104 - scraped from other hosts
    """Serve the default registry at ``http://addr:port/metrics`` from a daemon thread.

    For processes without the API (``feedwatch worker``, ``feedwatch ingest``);
    ``port`` 0 means off. Returns whether a server was started.
    """
    if not port:
        return False
    from prometheus_client import start_http_server  # noqa: PLC0415

    try:
        start_http_server(port, addr)
    except OSError as exc:
        allowed = f"a free port ({exc.strerror or exc}) [env FEEDWATCH_METRICS_PORT]"
        raise ConfigError("--metrics-port", port, allowed) from exc
    return True


def render() -> tuple[bytes, str]:
    """The exposition text of the default registry and its content type."""
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST
