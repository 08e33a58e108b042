"""N synthetic cameras through the real embedded path, timed.

Shared by ``feedwatch bench capacity`` and the embedded mode of ``bench e2e``. The
segments are made beforehand (``pipeline.scenes.write_clip`` → the
``connectors.video`` segmenter, so decoding is part of what is measured); a trial
then runs :class:`workers.perception.embedded.EmbeddedRun` exactly as ``feedwatch run`` wires
it — source threads, in-process bus, :class:`Perceiver` (keyframe-only decode at
1 fps, CLIP encode, rolling buffer, due queries, engine) and the SQLite answer sink —
with one standing question per camera evaluated every second. The questions are
subscribed before the clock starts, so their text embeddings and their answerers'
per-question work (the clip tracker's alternatives: up to 256 text encodings per new
question, done once when a question is subscribed) are not part of the timed run.

* unpaced (``capacity``): every segment is available at once; the trial measures
  camera-seconds processed per wall-second. A machine keeps up with N cameras in
  real time when that rate is at least N.
* paced (``e2e``): each segment is published when its last frame would have been
  filmed (its end on a wall clock started with the run); latency is from that
  moment to the answer's commit in the store.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.timings import waterfall
from pipeline.types import Answer, Segment, StandingQuery

CLIP_SIZE = (640, 360)
CLIP_FPS = 10
KEYFRAME_S = 1.0


@dataclass(frozen=True)
class TrialResult:
    """What one trial with ``cameras`` cameras measured."""

    cameras: int
    seconds: float
    wall_s: float
    camera_seconds: float
    rate: float
    keeps_up: bool
    completed: bool
    frames: int
    answers: int
    vision_passes_per_frame: float | None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    encode_calls: int = 0
    encoder_frames: int = 0
    stored: int = 0
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # the waterfall


def write_clips(seconds: float, count: int, workdir: Path, *,
                size: tuple[int, int] = CLIP_SIZE) -> list[Path]:
    """``count`` distinct seeded synthetic clip files (the same ones in every mode)."""
    from pipeline.scenes import random_scene, write_clip

    paths = []
    for i in range(count):
        spec = random_scene(100 + i, duration=seconds, fps=CLIP_FPS, size=size,
                            background="clutter")
        paths.append(Path(write_clip(spec, workdir / f"cam{i}.mp4", fps=CLIP_FPS,
                                     keyframe_interval_s=KEYFRAME_S)))
    return paths


def segment_clips(paths: list[Path]) -> list[list[Segment]]:
    """Each clip cut into live-style segments, as ``feedwatch ingest`` cuts them."""
    from connectors.video.segmenter import Segmenter
    from connectors.video.sources import open_source

    clips = []
    for i, path in enumerate(paths):
        with open_source(str(path), f"clip{i}") as source:
            clips.append(list(Segmenter.from_config(f"clip{i}").run(source)))
    return clips


def make_clips(seconds: float, count: int, workdir: Path, *,
               size: tuple[int, int] = CLIP_SIZE) -> list[list[Segment]]:
    """``count`` distinct synthetic clips, each cut into live-style segments."""
    return segment_clips(write_clips(seconds, count, workdir, size=size))


def camera_feeds(clips: list[list[Segment]], n: int,
                 names: list[str] | None = None) -> dict[str, list[Segment]]:
    """``n`` cameras, camera i replaying clip ``i % len(clips)`` under its own id."""
    feeds = {}
    for i in range(n):
        cam = names[i] if names else f"cam-{i:03d}"
        feeds[cam] = [replace(s, camera=cam) for s in clips[i % len(clips)]]
    return feeds


def camera_queries(cameras: list[str]) -> list[StandingQuery]:
    """One standing question per camera, every second over a 4 s window."""
    from pipeline.scenes import captions

    texts = captions()
    return [StandingQuery(id=f"cq-{cam}", question=f"is there {texts[i % len(texts)]}?",
                          cameras=(cam,), every=1.0, window=4.0)
            for i, cam in enumerate(cameras)]


class TimingSink:
    """The product's answer sink, noting when each answer was committed."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self._pending: list[Answer] = []
        self.committed: list[tuple[Answer, float]] = []
        self.timings: list[dict[str, float]] = []  # each answer's, ``stored`` its commit

    def add(self, answer: Answer) -> None:
        self.sink.add(answer)
        self._pending.append(answer)

    def flush(self) -> int:
        n: int = self.sink.flush()
        now, wall = time.perf_counter(), time.time()
        self.committed += [(a, now) for a in self._pending]
        self.timings += [{**a.timings, "stored": wall} for a in self._pending]
        self._pending.clear()
        return n


class Feeder:
    """Serves each camera's segments, paced on a shared wall clock or all at once."""

    def __init__(self, feeds: dict[str, list[Segment]], paced: bool) -> None:
        self.feeds = feeds
        self.paced = paced
        self.t0 = time.perf_counter()
        self.released: dict[str, list[tuple[float, float]]] = {c: [] for c in feeds}

    def __call__(self, uri: str, camera: str, stop: threading.Event | None = None,
                 **_: Any) -> Iterator[Segment]:
        segs = self.feeds[camera]
        origin = segs[0].start if segs else 0.0
        for seg in segs:
            if self.paced:
                wait = self.t0 + (seg.end - origin) - time.perf_counter()
                if wait > 0 and stop is not None and stop.wait(wait):
                    return
            self.released[camera].append((seg.end, time.perf_counter()))
            yield replace(seg, closed_at=time.time())  # cut now, as a live camera's would be

    def release_time(self, camera: str, window_end: float) -> float | None:
        """When the segment that made ``window_end`` due was published."""
        rel = self.released.get(camera, [])
        i = bisect.bisect_left([end for end, _ in rel], window_end - 1e-6)
        return rel[i][1] if i < len(rel) else None


def run_trial(encoder: Any, feeds: dict[str, list[Segment]], *, paced: bool = False,
              deadline_s: float | None = None, sample_fps: float = 1.0,
              on_segment: Callable[[Segment], None] = lambda s: None) -> TrialResult:
    """One embedded run over ``feeds``; stopped at ``deadline_s`` wall seconds if set."""
    from workers.config import PerceptionSettings
    from workers.perception.build import perceiver_from_settings
    from workers.perception.embedded import CameraSource, EmbeddedRun, make_store_sink

    cameras = list(feeds)
    queries = camera_queries(cameras)
    with tempfile.TemporaryDirectory(prefix="fw-bench-db-") as tmp:
        store, sink = make_store_sink(f"sqlite:///{tmp}/bench.db")
        for cam in cameras:
            store.upsert_camera(cam, f"bench://{cam}")
        for q in queries:
            store.upsert_query(q)
        perceiver = perceiver_from_settings(PerceptionSettings(sample_fps=sample_fps), encoder)
        timing = TimingSink(sink)
        feeder = Feeder(feeds, paced)
        run = EmbeddedRun([CameraSource(c, f"bench://{c}") for c in cameras], queries,
                          perceiver, timing, segments=feeder, on_segment=on_segment)  # type: ignore[arg-type]
        encoder.encode_text([q.question for q in queries])  # subscribed before cameras start
        for q in queries:  # and their answerers prepared, as subscribing them does
            perceiver.engine.prepare(q)
        passes0 = getattr(encoder, "vision_frames_encoded", 0)
        calls0 = getattr(encoder, "encode_calls", 0)
        timer = threading.Timer(deadline_s, run.stop.set) if deadline_s else None
        feeder.t0 = t0 = time.perf_counter()
        if timer:
            timer.start()
        with _quiet_sources():  # a stopped trial closes the bus under blocked sources
            stats = run.run()
        wall = time.perf_counter() - t0
        if timer:
            timer.cancel()
        store.close()
    passes = getattr(encoder, "vision_frames_encoded", 0) - passes0
    calls = getattr(encoder, "encode_calls", 0) - calls0
    return _result(feeds, stats, wall, (passes, calls), timing, feeder, paced)


@contextlib.contextmanager
def _quiet_sources() -> Iterator[None]:
    log = logging.getLogger("workers.perception.embedded")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _result(feeds: dict[str, list[Segment]], stats: Any, wall: float,
            encoder_counts: tuple[int, int], timing: TimingSink, feeder: Feeder,
            paced: bool) -> TrialResult:
    passes, calls = encoder_counts
    seconds = max((s[-1].end - s[0].start for s in feeds.values() if s), default=0.0)
    done = sum(stats.stream_time.get(c, s[0].start) - s[0].start for c, s in feeds.items() if s)
    completed = all(stats.stream_time.get(c) == s[-1].end for c, s in feeds.items() if s)
    rate = done / wall if wall > 0 else 0.0
    lat = _latencies(timing, feeder) if paced else []
    return TrialResult(
        cameras=len(feeds), seconds=seconds, wall_s=wall, camera_seconds=done, rate=rate,
        keeps_up=completed and rate >= len(feeds) * (1 - 1e-9) if not paced
        else completed and wall <= seconds + 2.0,
        completed=completed, frames=stats.frames, answers=stats.answers,
        vision_passes_per_frame=round(passes / stats.frames, 4) if stats.frames else None,
        latency_p50_ms=_pct(lat, 50), latency_p95_ms=_pct(lat, 95),
        encode_calls=calls, encoder_frames=passes, stored=len(timing.committed),
        timings=waterfall(timing.timings),
    )


def _latencies(timing: TimingSink, feeder: Feeder) -> list[float]:
    out = []
    for answer, committed in timing.committed:
        released = feeder.release_time(answer.camera, answer.window_end)
        if released is not None:
            out.append(1000.0 * (committed - released))
    return sorted(out)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    i = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[i], 1)


def e2e_embedded(encoder: Any, feeds: dict[str, list[Segment]], *,
                 burst: bool = False) -> dict[str, Any]:
    """The embedded mode of ``bench e2e``: live-paced unless ``burst``.

    Fields match the Kafka mode's: latency from a segment's (wall-clock) end to its
    answer's commit in SQLite, camera-seconds answered per wall-second, and the
    encoder's own counters (frames per call, passes per frame).
    """
    r = run_trial(encoder, feeds, paced=not burst)
    return {
        "mode": "embedded", "cameras": len(feeds), "workers": 1, "seconds": r.seconds,
        "answers": r.stored, "latency_p50_ms": r.latency_p50_ms,
        "latency_p95_ms": r.latency_p95_ms, "camera_seconds": round(r.camera_seconds, 1),
        "wall_seconds": round(r.wall_s, 2),
        "camera_seconds_per_wall_second": round(r.rate, 2),
        "frames": r.frames, "encode_calls": r.encode_calls,
        "frames_per_encode_call": (
            round(r.encoder_frames / r.encode_calls, 2) if r.encode_calls else None
        ),
        "vision_passes_per_frame": r.vision_passes_per_frame, "timings": r.timings,
    }


__all__ = ["Feeder", "TimingSink", "TrialResult", "camera_feeds", "camera_queries",
           "e2e_embedded", "make_clips", "run_trial", "segment_clips", "write_clips"]
