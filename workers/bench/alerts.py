"""``feedwatch bench alerts``: from an object appearing on a camera to the webhook
receiving the incident's ``opened`` notification, on live-paced streams, in the
embedded run and the Kafka scale-out side by side (same clip, cameras and settings).

Each camera plays the scene generator's clip (a red circle that appears for
``event_s`` seconds every ``event_s + gap_s``, after ``lead_s`` seconds without it)
paced in real time. Embedded: through the run exactly as ``feedwatch run --realtime
--hook`` wires it (segments, perception with the CLIP given — shapes-demo by default —,
answers stored, rule evaluator, delivery worker, incident clips). Kafka: through the
real processes (:mod:`workers.bench._alerts_kafka`). A real HTTP receiver stamps each
notification's arrival. Per event: onset → webhook, split into detection delay and
pipeline latency (:mod:`workers.bench._alert_events`); missed events and false alerts
are counted. What the clips cost is read from their rows: CPU seconds per clip-second
and bytes against the segment bytes they cover. Each mode reports the work it saw
finish (:mod:`workers.bench._alert_store`): a ``shortfall`` names what did not.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.types import Segment, StandingQuery
from workers.bench._alert_events import HOOK_RATE_CAP, EventResult, HookReceiver, match, spread

QUESTION = "a red circle"
QUERY_ID = "q-alert-bench"
MODES = ("embedded", "kafka")
FPS, KEYFRAME_S, SIZE = 10, 2.0, (320, 240)


@dataclass(frozen=True)
class AlertBench:
    """What to measure (see module doc)."""

    cameras: int = 1
    events: int = 20
    event_s: float = 10.0
    gap_s: float = 20.0
    lead_s: float = 10.0
    window: float = 2.0
    every: float = 1.0
    open_after: int = 1
    sample_fps: float = 2.0
    clip: str = "shapes-demo"
    threshold: float | None = None  # None: the clip answerer's default (adaptive) mode
    timeout: float = 60.0  # seconds to wait for the rest of the work after the stream

    def __post_init__(self) -> None:
        if self.cameras < 1 or self.events < 1:
            raise ConfigError("--cameras/--events", (self.cameras, self.events), ">= 1 each")
        if not self.window >= self.every:  # the scheduler's rule, checked before any work
            raise ConfigError("--window/--every", (self.window, self.every),
                              "--window at least --every (each window at least as long as "
                              "the interval between evaluations)")
        if not (self.event_s > self.window and self.gap_s > self.window):
            raise ConfigError("--event-s/--gap-s", (self.event_s, self.gap_s),
                              f"each longer than the window ({self.window} s)")

    def onsets(self) -> list[tuple[float, float]]:
        period = self.event_s + self.gap_s
        return [(self.lead_s + i * period, self.lead_s + i * period + self.event_s)
                for i in range(self.events)]

    @property
    def duration(self) -> float:
        return self.lead_s + self.events * (self.event_s + self.gap_s)

    @property
    def bound_s(self) -> float:
        """The issue's bound on the p95 onset → ``opened`` webhook."""
        return self.window + self.every + 2.0

    def query(self) -> StandingQuery:
        settings = {} if self.threshold is None else {"threshold": self.threshold}
        return StandingQuery(QUERY_ID, QUESTION, every=self.every, window=self.window,
                             settings=settings)


def measure(bench: AlertBench, modes: tuple[str, ...] = MODES, bootstrap: str | None = None,
            say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Run each mode on the same clip; one JSON-ready object (``complete``: every mode
    saw all its work finish)."""
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ConfigError("--mode", ",".join(modes), "embedded, kafka or both")
    if "kafka" in modes and not bootstrap:
        raise ConfigError("--kafka", bootstrap, "a bootstrap host:port for the Kafka mode")
    with tempfile.TemporaryDirectory(prefix="feedwatch-alert-bench-") as tmp:
        root = Path(tmp)
        video = _scene(bench, root / "scene.mp4")
        say(f"scene written: {bench.duration:.0f} s, {bench.events} events per camera")
        out: dict[str, Any] = {"bench": "alerts", "settings": asdict(bench),
                               "bound_s": bench.bound_s}
        for mode in modes:
            say(f"{mode}: {bench.cameras} camera(s) live for {bench.duration:.0f} s")
            out[mode] = _mode(mode, bench, root / mode, video, bootstrap, say)
    out["complete"] = all(not out[m]["work"]["shortfall"] for m in modes)
    return out


def _mode(mode: str, bench: AlertBench, root: Path, video: Path, bootstrap: str | None,
          say: Callable[[str], None]) -> dict[str, Any]:
    from workers.bench._alert_store import read_back

    root.mkdir()
    receiver = HookReceiver().start()
    try:
        if mode == "embedded":
            run = _embedded(bench, root, video, receiver.url)
        else:
            from workers.bench._alerts_kafka import run_kafka

            assert bootstrap is not None
            run = run_kafka(bench, bench.query(), bootstrap, root, video, receiver.url, say)
    finally:
        receiver.stop()
    anchors = {cam: spans[0][0] for cam, spans in run["spans"].items() if spans}
    back = read_back(run["db"], bench.query(), run["spans"])
    return {"mode": mode, **_latency(bench, anchors, receiver), **back,
            "wall_s": round(run["wall_s"], 1)}


def _scene(bench: AlertBench, path: Path) -> Path:
    from pipeline.scenes import scripted_scene, write_clip

    spec = scripted_scene(visible=bench.onsets(), distractors=2, seed=7,
                          duration=bench.duration, size=SIZE, fps=FPS)
    return write_clip(spec, path, fps=FPS, keyframe_interval_s=KEYFRAME_S)


def _settings(bench: AlertBench, db: str, root: Path) -> Any:
    from workers.config import load_settings

    return load_settings(
        store={"url": db},
        perception={"clip": bench.clip, "sample_fps": bench.sample_fps},
        hooks={"allow_private": True, "poll_s": 0.1, "wait_on_exit_s": 10.0,
               "rate_cap": HOOK_RATE_CAP},
        clips={"dir": str(root / "clips")})


def _embedded(bench: AlertBench, root: Path, video: Path, url: str) -> dict[str, Any]:
    """The embedded run with alerts and clips; each camera's segment spans."""
    from workers.alerts.run import RunHooks, start_for_run
    from workers.incident_clips.embedded import start_for_run as start_clips
    from workers.perception.embedded_run import run_embedded

    db = f"sqlite:///{root / 'embedded.db'}"
    settings = _settings(bench, db, root)
    query = bench.query()
    alerts = start_for_run(settings, RunHooks(urls=(url,), open_after=bench.open_after,
                                              close_after=2), [query.id])
    assert alerts is not None
    clips = start_clips(settings)
    spans: dict[str, list[tuple[float, float]]] = {}

    def observe(segment: Segment) -> None:
        spans.setdefault(segment.camera, []).append((segment.start, segment.end))
        clips.observe(segment)

    sources = [(f"cam{i}", str(video)) for i in range(bench.cameras)]
    t0 = time.time()
    try:
        run_embedded(settings, sources, [query], realtime=True, observe=observe)
        alerts.service.drain(bench.timeout)  # every answer evaluated, openings sent
        clips.cut_now()
    finally:
        clips.finish(lambda m: None)
        alerts.finish(bench.timeout, lambda m: None)  # the closings and clip_ready too
    spans = {c: sorted(v) for c, v in spans.items()}
    return {"spans": spans, "wall_s": time.time() - t0, "db": db}


def _latency(bench: AlertBench, anchors: dict[str, float],
             receiver: HookReceiver) -> dict[str, Any]:
    results: list[EventResult] = []
    false_alerts = 0
    for camera, anchor in sorted(anchors.items()):
        found, extra = match(camera, anchor, bench.onsets(), receiver.openings(), bench.window)
        results += found
        false_alerts += extra
    hit = [r for r in results if r.latency_s is not None]
    onset = spread([r.latency_s for r in hit])
    return {
        "cameras_seen": len(anchors), "events": len(results), "detected": len(hit),
        "missed": len(results) - len(hit), "false_alerts": false_alerts,
        "onset_to_webhook_s": onset,
        "detection_delay_s": spread([r.detection_s for r in hit]),
        "pipeline_latency_s": spread([r.pipeline_s for r in hit]),
        "within_bound": onset["p95"] is not None and onset["p95"] <= bench.bound_s,
    }
