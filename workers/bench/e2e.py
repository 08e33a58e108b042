"""``feedwatch bench e2e``: the product run end to end, measured, in either mode or both.

The same seeded synthetic clips (640×360, 10 fps, keyframe every second), the same
camera ids, the same standing question per camera (every 1 s over a 4 s window), the
same 1 fps sampling and the same 2 s segments feed

* the **embedded** mode — one process, in-process bus, SQLite (see
  :mod:`workers.bench._embedded`): each camera's segments are published when a live
  camera would have delivered them;
* the **Kafka** mode (``--kafka``) — one ``feedwatch ingest`` process for every camera
  (``--ingest each``: one per camera), ``--workers`` ``feedwatch worker`` processes and
  their sink (see :mod:`workers.bench._kafka`).

Both modes load the encoder at ``--precision``. Each mode's ``timings`` is the latency
waterfall (:mod:`workers.bench.waterfall`): p50/p95 per stage; the dominant stage is
named on stderr.

``--compare`` runs both, one after the other, and prints one object
``{"embedded": {...}, "kafka": {...}, "ratio": kafka/embedded camera-s per wall-s}``.
Per mode: answers stored and ``answers_expected`` (the due windows, counted from the
segments with the product's scheduler); latency p50/p95 from the wall-clock end of
the segment that made a window due to the answer's commit (embedded) or its row being
visible (Kafka); camera-seconds per wall-second; ``frames_per_encode_call`` and
``vision_passes_per_frame`` from the encoder's own counters; resident memory per
process. A mode that has not stored every expected answer within ``--timeout``
reports the shortfall and the command exits 1: never a throughput over incomplete work.
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipeline.types import StandingQuery

SAMPLE_FPS = 1.0


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def latencies(
    seen: dict[tuple[str, str, float], float], ends: dict[str, list[float]]
) -> list[float]:
    """Row-visible time minus the end of the segment that made each window due (ms)."""
    import bisect

    out = []
    for (_q, cam, window_end), at in seen.items():
        cam_ends = ends.get(cam, [])
        i = bisect.bisect_left(cam_ends, window_end - 1e-6)
        if i < len(cam_ends):
            out.append((at - cam_ends[i]) * 1000.0)
    return out


def expected_answers(
    queries: Iterable[StandingQuery], spans: dict[str, list[tuple[float, float]]]
) -> int:
    """The due windows the segments make, counted with the product's scheduler."""
    from pipeline.scheduler import Scheduler

    scheduler = Scheduler(list(queries))
    return sum(
        len(due.queries)
        for cam, segs in spans.items()
        for start, end in sorted(segs)
        for due in scheduler.advance(cam, end, since=start)
    )


def _rounded(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)


def embedded_mode(spec: str, paths: list[Path], names: list[str],
                  queries: list[StandingQuery], burst: bool,
                  precision: str = "fp32") -> dict[str, Any]:
    from pipeline.models.clip_encoder import ClipEncoder
    from workers.bench._embedded import camera_feeds, e2e_embedded, segment_clips
    from workers.ops.rss import memory_of

    feeds = camera_feeds(segment_clips(paths), len(names), names)
    spans = {c: [(s.start, s.end) for s in segs] for c, segs in feeds.items()}
    r = e2e_embedded(ClipEncoder.from_spec(spec, precision=precision), feeds, burst=burst)
    r["answers_expected"] = expected_answers(queries, spans)
    r["memory"] = {"embedded run (bench process)": memory_of()}
    return _with_shortfall(r)


def kafka_mode(bootstrap: str, spec: str, paths: list[Path], names: list[str],
               queries: list[StandingQuery], workers: int, burst: bool, timeout: float,
               workdir: Path, precision: str = "fp32", one_ingest: bool = True
               ) -> dict[str, Any]:
    from pipeline.timings import waterfall
    from workers.bench._kafka import run_kafka
    from workers.bench.waterfall import with_stored

    env = {"FEEDWATCH_KAFKA_PARTITIONS": str(max(len(names), 2)),
           "FEEDWATCH_PERCEPTION_SAMPLE_FPS": f"{SAMPLE_FPS:g}",
           "FEEDWATCH_PERCEPTION_CLIP": spec, "FEEDWATCH_PERCEPTION_PRECISION": precision}
    clips = {cam: paths[i % len(paths)] for i, cam in enumerate(names)}
    run = run_kafka(bootstrap, clips, queries, workers=workers, burst=burst, env=env,
                    workdir=workdir, expected=lambda s: expected_answers(queries, s),
                    timeout=timeout, one_ingest=one_ingest)
    ends = {c: [e for _s, e in v] for c, v in run.spans.items()}
    lat = [] if burst else latencies(run.seen, ends)
    covered = sum(v[-1][1] - v[0][0] for v in run.spans.values() if v)
    start = run.started if burst else min((v[0][0] for v in run.spans.values() if v),
                                          default=run.started)
    wall = max(run.seen.values(), default=start) - start
    c = run.counters
    return _with_shortfall({
        "mode": "kafka", "cameras": len(names), "workers": workers,
        "ingest_processes": 1 if one_ingest else len(names),
        "answers": len(run.seen), "answers_expected": expected_answers(queries, run.spans),
        "latency_p50_ms": _rounded(percentile(lat, 50)),
        "latency_p95_ms": _rounded(percentile(lat, 95)),
        "camera_seconds": round(covered, 1), "wall_seconds": round(wall, 2),
        "camera_seconds_per_wall_second": round(covered / wall, 2) if wall > 0 else 0.0,
        "frames": int(c.get("frames", 0)), "encode_calls": int(c.get("encoder_calls", 0)),
        "frames_per_encode_call": (round(c["encoder_frames"] / c["encoder_calls"], 2)
                                   if c.get("encoder_calls") else None),
        "vision_passes_per_frame": (round(c["encoder_frames"] / c["frames"], 4)
                                    if c.get("frames") else None),
        "waited_after_ingest_s": run.waited_s, "memory": run.memory,
        "timings": waterfall(with_stored(run.timings, run.seen)),
    })


def _with_shortfall(r: dict[str, Any]) -> dict[str, Any]:
    r["shortfall"] = max(0, r["answers_expected"] - r["answers"])
    return r


def measure(bootstrap: str | None, compare: bool, cameras: int, seconds: float,
            workers: int, spec: str, burst: bool, timeout: float,
            note: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
            *, precision: str = "fp32", one_ingest: bool = True) -> dict[str, Any]:
    """One mode's object, or ``{"embedded", "kafka", "ratio"}`` with ``compare``."""
    from workers.bench._embedded import camera_queries, write_clips
    from workers.soak.cluster import spread_cameras

    with tempfile.TemporaryDirectory(prefix="fw-e2e-") as tmp:
        note("making synthetic camera clips…")
        paths = write_clips(seconds, min(4, cameras), Path(tmp))
        names = spread_cameras(cameras, max(cameras, 2))
        queries = camera_queries(names)
        out: dict[str, Any] = {}
        if compare or not bootstrap:
            note("embedded mode…")
            out["embedded"] = embedded_mode(spec, paths, names, queries, burst, precision)
        if bootstrap:
            note("Kafka mode…")
            out["kafka"] = kafka_mode(bootstrap, spec, paths, names, queries, workers, burst,
                                      timeout, Path(tmp), precision, one_ingest)
    from workers.bench.waterfall import note_dominant

    note_dominant(out, note)
    if not compare:
        return next(iter(out.values()))
    emb, kaf = out["embedded"]["camera_seconds_per_wall_second"], out["kafka"][
        "camera_seconds_per_wall_second"]
    return {**out, "ratio": round(kaf / emb, 3) if emb else None, "clip": spec,
            "precision": precision, "seconds": seconds, "sample_fps": SAMPLE_FPS,
            "burst": burst}


