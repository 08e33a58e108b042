"""Serving the API beside an embedded run (``feedwatch run ... --serve PORT``).

:func:`attach_to_run` hooks the run's callbacks so the dashboard sees what the run
sees: stream status events and segment times feed the camera registry, each flush
of stored answers wakes the live stream, and the run's counters feed the Prometheus
metrics. Queries created in the dashboard are published on the run's own in-process
bus, whose perceive loop picks them up like any other queries record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from connectors.store import Store
from pipeline.types import Answer, Segment
from workers.api import ServerThread, serve_in_thread
from workers.api.live import AnswerNotifier, CameraStatusRegistry
from workers.config import Settings
from workers.ops import metrics

log = logging.getLogger(__name__)


class NotifyingSink:
    """Wraps an add/flush answer sink: counts answers and wakes SSE streams on new rows."""

    def __init__(self, sink: Any, notifier: AnswerNotifier) -> None:
        self.sink = sink
        self.notifier = notifier

    def add(self, answer: Answer) -> None:
        self.sink.add(answer)
        metrics.count_answers([answer])

    def flush(self) -> int:
        inserted = int(self.sink.flush() or 0)
        if inserted:
            metrics.ANSWERS_STORED.inc(inserted)
            self.notifier.notify()
        return inserted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)


class _StatsDelta:
    """Turns the perceiver's running totals into counter increments."""

    def __init__(self, stats: Any) -> None:
        self.stats = stats
        self.frames = stats.frames
        self.dead = stats.dead_letters
        self.lock = threading.Lock()

    def sync(self, camera: str) -> None:
        with self.lock:
            frames, dead = self.stats.frames, self.stats.dead_letters
            metrics.FRAMES_ENCODED.labels(camera=camera).inc(max(frames - self.frames, 0))
            metrics.DEAD_LETTERS.labels(stage="perceive").inc(max(dead - self.dead, 0))
            self.frames, self.dead = frames, dead


def attach_to_run(run: Any, settings: Settings, port: int, host: str | None = None) -> ServerThread:
    """Serve the API for ``run`` (an ``EmbeddedRun``, before ``run.run()``) from a thread.

    The store is the run's own (its sink's); ``host`` defaults to ``settings.api.host``.
    """
    from workers.api.app import create_app  # noqa: PLC0415 - FastAPI only when serving

    registry, notifier = CameraStatusRegistry(), AnswerNotifier()
    run.sink = NotifyingSink(run.sink, notifier)
    deltas = _StatsDelta(run.perceiver.stats)
    on_segment, segments = run.on_segment, run.segments

    def seen(segment: Segment) -> None:
        registry.saw_segment(segment.camera, segment.end)
        registry.saw_stream(segment.camera, codec=segment.codec, width=segment.width,
                            height=segment.height)
        metrics.SEGMENTS.labels(camera=segment.camera).inc()
        deltas.sync(segment.camera)
        on_segment(segment)

    def observed_segments(uri: str, camera: str, **kw: Any) -> Any:
        kw.setdefault("observer", registry.observe)
        return segments(uri, camera, **kw)

    run.on_segment, run.segments = seen, observed_segments
    store: Store = run.sink.store
    app = create_app(
        settings,
        store,
        run.bus,
        registry=registry,
        notifier=notifier,
        queries_topic=run.topics.queries,
    )
    return serve_in_thread(app, host or settings.api.host, port)


def serve_beside(run: Any, settings: Settings, port: int | None) -> ServerThread | None:
    """``--serve PORT``: attach the API to ``run``; ``None`` when no port was given."""
    if port is None:
        return None
    server = attach_to_run(run, settings, port)
    log.warning("dashboard and API on %s/", server.url)
    return server


def serve_until_interrupted(server: ServerThread, say: Callable[[str], None]) -> None:
    """After a run over files has finished, keep the dashboard up until Ctrl-C."""
    say(f"run finished; the dashboard stays on {server.url}/ (Ctrl-C to stop)")
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
