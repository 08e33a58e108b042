"""``feedwatch bench alert-latency``: from an object appearing on a camera to the
webhook receiving the incident's ``opened`` notification, on a live-paced stream.

Each camera plays the scene generator's clip (a red circle that appears for
``event_s`` seconds every ``event_s + gap_s``, after ``lead_s`` seconds without it)
paced in real time through the embedded run exactly as ``feedwatch run --realtime
--hook`` wires it: segments, perception (the CLIP given, shapes-demo by default),
answers stored, the rule evaluator, the delivery worker, and the incident clips.
A real HTTP receiver stamps each notification's arrival. Per event: onset → webhook,
split into detection delay and pipeline latency (:mod:`workers.bench._alert_events`);
missed events and false alerts are counted. What the clips cost is read from their
rows: CPU seconds per clip-second and bytes against the segment bytes they cover.
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
from workers.bench._alert_events import EventResult, HookReceiver, match, spread

QUESTION = "a red circle"
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

    def __post_init__(self) -> None:
        if self.cameras < 1 or self.events < 1:
            raise ConfigError("--cameras/--events", (self.cameras, self.events), ">= 1 each")
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


def measure(bench: AlertBench, say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Run the bench; one JSON-ready object."""
    with tempfile.TemporaryDirectory(prefix="feedwatch-alert-bench-") as tmp:
        root = Path(tmp)
        video = _scene(bench, root / "scene.mp4")
        say(f"scene written: {bench.duration:.0f} s, {bench.events} events; running live")
        receiver = HookReceiver().start()
        try:
            anchors, wall = _run(bench, root, video, receiver.url)
        finally:
            receiver.stop()
        clips = _clip_costs(root)
    return _result(bench, anchors, receiver, clips, wall)


def _scene(bench: AlertBench, path: Path) -> Path:
    from pipeline.scenes import scripted_scene, write_clip

    spec = scripted_scene(visible=bench.onsets(), distractors=2, seed=7,
                          duration=bench.duration, size=SIZE, fps=FPS)
    return write_clip(spec, path, fps=FPS, keyframe_interval_s=KEYFRAME_S)


def _settings(bench: AlertBench, root: Path) -> Any:
    from workers.config import load_settings

    return load_settings(
        store={"url": f"sqlite:///{root / 'bench.db'}"},
        perception={"clip": bench.clip, "sample_fps": bench.sample_fps},
        hooks={"allow_private": True, "poll_s": 0.1, "wait_on_exit_s": 10.0},
        clips={"dir": str(root / "clips")})


def _run(bench: AlertBench, root: Path, video: Path, url: str) -> tuple[dict[str, float], float]:
    """The embedded run with alerts and clips; the stream-time anchor of each camera."""
    from workers.alerts.run import RunHooks, start_for_run
    from workers.incident_clips.embedded import start_for_run as start_clips
    from workers.perception.embedded import run_embedded

    settings = _settings(bench, root)
    query = StandingQuery("q-alert-bench", QUESTION, every=bench.every, window=bench.window,
                          settings={} if bench.threshold is None else
                          {"threshold": bench.threshold})
    hooks = RunHooks(urls=(url,), open_after=bench.open_after, close_after=2)
    alerts = start_for_run(settings, hooks, [query.id])
    clips = start_clips(settings)
    anchors: dict[str, float] = {}

    def observe(segment: Segment) -> None:
        anchors.setdefault(segment.camera, segment.start - segment.lead)
        clips.observe(segment)

    sources = [(f"cam{i}", str(video)) for i in range(bench.cameras)]
    t0 = time.time()
    try:
        run_embedded(settings, sources, [query], realtime=True, observe=observe)
    finally:
        clips.cut_now()
        if alerts is not None:
            alerts.finish(settings.hooks.wait_on_exit_s, lambda m: None)
        clips.finish(lambda m: None)
    return anchors, time.time() - t0


def _clip_costs(root: Path) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from connectors.store import Store
    from connectors.store.clips import IncidentClipRow

    store = Store.from_url(f"sqlite:///{root / 'bench.db'}", upgrade=False)
    try:
        with Session(store.engine) as s:
            rows = [r for r in s.scalars(select(IncidentClipRow)) if r.state == "ready"]
    finally:
        store.close()
    seconds = sum(r.duration for r in rows)
    if not rows or not seconds:
        return {"clips": len(rows), "clip_seconds": 0.0, "cpu_s_per_clip_second": None,
                "bytes_per_clip_second": None, "bytes_vs_segments": None}
    size = sum(r.bytes for r in rows)
    return {
        "clips": len(rows), "clip_seconds": round(seconds, 1),
        "cpu_s_per_clip_second": round(sum(r.cpu_s for r in rows) / seconds, 5),
        "bytes_per_clip_second": round(size / seconds),
        "bytes_vs_segments": round(size / max(1, sum(r.source_bytes for r in rows)), 3),
    }


def _result(bench: AlertBench, anchors: dict[str, float], receiver: HookReceiver,
            clips: dict[str, Any], wall: float) -> dict[str, Any]:
    results: list[EventResult] = []
    false_alerts = 0
    for camera, anchor in sorted(anchors.items()):
        found, extra = match(camera, anchor, bench.onsets(), receiver.openings(), bench.window)
        results += found
        false_alerts += extra
    hit = [r for r in results if r.latency_s is not None]
    return {
        "bench": "alert-latency", "mode": "embedded", "settings": asdict(bench),
        "cameras_seen": len(anchors), "events": len(results), "detected": len(hit),
        "missed": len(results) - len(hit), "false_alerts": false_alerts,
        "onset_to_webhook_s": spread([r.latency_s for r in hit]),
        "detection_delay_s": spread([r.detection_s for r in hit]),
        "pipeline_latency_s": spread([r.pipeline_s for r in hit]),
        "bound_s": bench.window + bench.every + 2.0, "clip_cost": clips,
        "wall_s": round(wall, 1),
    }
