"""``feedwatch run``'s assembly: the store, the models, the live view and the closing
summary around an :class:`~workers.perception.embedded.EmbeddedRun`.

Stopped with Ctrl-C (or SIGTERM), a run still stores what was answered, prints its
summary, then lets the interrupt go on (the command exits 130, or 143).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from connectors.video.uri import file_duration, is_camera
from pipeline.perceiver import PerceiverStats
from pipeline.types import Answer, Segment, StandingQuery
from workers.perception.embedded import CameraSource, EmbeddedRun, make_store_sink

if TYPE_CHECKING:
    from workers.config import Settings


def run_embedded(
    settings: Settings,
    sources: Sequence[tuple[str, str]],
    queries: Sequence[StandingQuery],
    *,
    realtime: bool = False,
    serve: int | None = None,
    json_out: TextIO | None = None,
    observe: Callable[[Segment], None] | None = None,
) -> tuple[PerceiverStats, dict[str, BaseException]]:
    """Build the store, models and run for ``feedwatch run`` over ``sources`` (camera id,
    URI); with ``json_out`` each answer is one JSON line there; ``observe`` sees every
    perceived segment (the incident clips' ring). Returns stats and source errors."""

    from connectors import video
    from connectors.bus.models import answer_json
    from connectors.store.feedback import StoreStates
    from workers.history.writer import build_writer
    from workers.perception.build import perceiver_from_settings
    from workers.view import LiveView, run_summary, stderr_console

    p = settings.perception
    store, sink = make_store_sink(settings.store.url, wait=any(is_camera(u) for _, u in sources))
    for camera, uri in sources:
        store.upsert_camera(camera, uri)
    for query in queries:
        store.upsert_query(query)
    perceiver = perceiver_from_settings(p, states=StoreStates(store))
    writer = build_writer(settings, store.engine, perceiver.encoder.model_id)  # history
    console = stderr_console()
    view = LiveView(console, enabled=json_out is None or console.is_terminal)

    def on_answer(answer: Answer) -> None:
        view.update(answer)
        if json_out is not None:
            json_out.write(json.dumps(answer_json(answer), separators=(",", ":")) + "\n")
            json_out.flush()

    def on_segment(segment: Segment) -> None:
        view.advance(segment.camera, segment.end)
        if observe is not None:
            observe(segment)

    def segments(uri: str, camera: str, **kw: Any) -> Iterator[Segment]:
        it: Iterator[Segment] = video.segments(uri, camera, realtime=realtime, **kw)
        return it

    run = EmbeddedRun(
        [CameraSource(c, u) for c, u in sources],
        queries,
        perceiver,
        sink,
        segments=segments,
        on_answer=on_answer,
        on_segment=on_segment,
        on_encoded=writer.on_encoded,
    )
    from workers.api.embedded import serve_beside, serve_until_interrupted

    server = serve_beside(run, settings, serve)
    for camera, uri in sources:
        if not is_camera(uri):
            view.add_file(camera, file_duration(uri))
    with view:
        stats = run.run()
    writer.close()
    new = sink.written  # rows this run inserted (retention may have pruned some since)
    if not console.is_terminal:
        console.line()
    if run.interrupted is not None:
        console.print("stopped before the sources ended; what was answered until then:",
                      markup=False, highlight=False)
    for line in run_summary(stats, new, store.engine.url.render_as_string(),
                            [c for c, _ in sources]):
        console.print(line, markup=False, highlight=False)
    if server is not None and run.interrupted is None:
        serve_until_interrupted(server, lambda m: console.print(m, markup=False, highlight=False))
    store.close()
    if run.interrupted is not None:
        raise run.interrupted
    return stats, run.errors
