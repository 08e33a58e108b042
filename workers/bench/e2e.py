"""``feedwatch bench e2e [--kafka BOOTSTRAP]``: the product run end to end, measured.

Without ``--kafka`` the embedded run is measured in this process (one perceiver, the
in-process bus, SQLite; see :mod:`workers.bench._embedded`): each camera's segments
are published when a live camera would have delivered them, at 1 fps sampling.
With ``--kafka`` the scale-out run:

N synthetic cameras (seeded scenes, ``--seconds`` long) are ingested in real time by
N ``feedwatch ingest --kafka`` processes; ``--workers`` ``feedwatch worker``
processes answer one standing question on every camera into the store. The bench
polls the answers table and reports:

* **latency** p50/p95: from the end of the segment that made a window due (its
  wall-clock end, the moment a live camera could have delivered it) to the moment
  the answer row was visible in SQL;
* **camera-seconds per wall-second**: stream seconds answered, over the wall time
  from the first segment's start to the last answer row. In real time this is at
  most N (the workers keep up when it is close to N); ``--burst`` ingests as fast as
  possible to measure capacity instead (latency is not meaningful then).
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError, MessageError

QUESTION = "a red circle"


@dataclass(frozen=True)
class E2EResult:
    cameras: int
    workers: int
    seconds: float
    answers: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    camera_seconds: float
    wall_seconds: float
    camera_seconds_per_wall_second: float


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def make_clips(directory: Path, cameras: list[str], seconds: float) -> dict[str, Path]:
    """One seeded synthetic scene per camera (320x240, 4 fps, keyframe every second)."""
    from pipeline.scenes import scripted_scene, write_clip

    clips = {}
    for i, cam in enumerate(cameras):
        scene = scripted_scene(
            ("red", "circle"),
            [(seconds / 4, seconds / 2)],
            distractors=1,
            seed=i,
            duration=seconds,
            size=(320, 240),
            fps=4,
        )
        clips[cam] = write_clip(scene, directory / f"{cam}.mp4", fps=4, keyframe_interval_s=1.0)
    return clips


class RowWatcher:
    """Polls the answers table; remembers when each (query, camera, end) first appeared."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.seen: dict[tuple[str, str, float], float] = {}

    def poll(self) -> int:
        now = time.time()
        for a in self.store.answers():
            self.seen.setdefault((a.query_id, a.camera, a.window_end), now)
        return len(self.seen)


def segment_spans(bootstrap: str, topic: str) -> dict[str, list[tuple[float, float]]]:
    """Per camera, the sorted (start, end) times of its segments in the topic."""
    from kafka import KafkaConsumer

    from connectors.bus import messages as msg

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    spans: dict[str, list[tuple[float, float]]] = {}
    try:
        for m in consumer:
            try:
                seg = msg.decode_segment(m.key, m.value, m.headers)
            except MessageError:
                continue
            spans.setdefault(seg.camera, []).append((seg.start, seg.end))
    finally:
        consumer.close()
    return {c: sorted(v) for c, v in spans.items()}


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


def run_e2e(
    bootstrap: str,
    db_url: str,
    cameras: int,
    seconds: float,
    workers: int,
    burst: bool,
    env: dict[str, str],
    workdir: Path,
) -> E2EResult:
    """Run the cluster once and measure it (processes are always stopped)."""
    from connectors.store import Store
    from workers.soak.cluster import Cluster, spread_cameras

    cluster = Cluster(bootstrap, db_url, workdir, env=env)
    cams = spread_cameras(cameras, int(env.get("FEEDWATCH_KAFKA_PARTITIONS", "8")))
    clips = make_clips(workdir, cams, seconds)
    try:
        cluster.run(
            "queries", "add", QUESTION, "--id", "bench-q", "--every", "1s", "--window", "2s"
        )
        procs = [cluster.worker(f"w{i}") for i in range(workers)]
        for p in procs:
            cluster.wait_for_log(p, "queries table ready", timeout=180)
        time.sleep(2.0)
        store = Store.from_url(db_url, upgrade=False)
        watcher = RowWatcher(store)
        start = time.time()
        ingests = [cluster.ingest(c, str(clips[c]), 1.0, realtime=not burst) for c in cams]
        while any(p.alive() for p in ingests):
            watcher.poll()
            time.sleep(0.1)
        spans = segment_spans(bootstrap, f"{cluster.prefix}segments")
        due = sum(len(v) for v in spans.values())
        last_change, count = time.time(), watcher.poll()
        while time.time() - last_change < 5.0 and count < due:
            time.sleep(0.1)
            new = watcher.poll()
            if new != count:
                last_change, count = time.time(), new
        store.close()
    finally:
        cluster.close()
    ends = {c: [e for _s, e in v] for c, v in spans.items()}
    lat = [] if burst else latencies(watcher.seen, ends)
    covered = sum(v[-1][1] - v[0][0] for v in spans.values() if v)
    if not burst:  # live: from the first frame a camera sent, not from process start
        start = min((v[0][0] for v in spans.values() if v), default=start)
    wall = max(watcher.seen.values(), default=start) - start
    return E2EResult(
        cameras,
        workers,
        seconds,
        len(watcher.seen),
        percentile(lat, 50),
        percentile(lat, 95),
        round(covered, 1),
        round(wall, 1),
        round(covered / wall, 2) if wall > 0 else 0.0,
    )


def fmt(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.0f} ms"


@click.command()
@click.option(
    "--kafka",
    "bootstrap",
    default=None,
    envvar="FEEDWATCH_KAFKA_BOOTSTRAP",
    help="Kafka bootstrap host:port; without it the embedded run is measured "
    "[env FEEDWATCH_KAFKA_BOOTSTRAP].",
)
@click.option("--cameras", type=int, default=4, show_default=True, help="Synthetic cameras.")
@click.option("--seconds", type=float, default=20.0, show_default=True, help="Clip length.")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--db", "db_url", default=None, help="SQL URL (default: a temp SQLite file).")
@click.option(
    "--clip",
    "clip_spec",
    default=None,
    help="CLIP spec for the workers [env FEEDWATCH_PERCEPTION_CLIP].",
)
@click.option("--burst", is_flag=True, help="Ingest as fast as possible (capacity, no latency).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    bootstrap: str | None,
    cameras: int,
    seconds: float,
    workers: int,
    db_url: str | None,
    clip_spec: str | None,
    burst: bool,
    as_json: bool,
) -> None:
    """Latency (segment end → answer row) and camera-seconds per wall-second."""
    if cameras < 1 or workers < 1 or seconds < 4:
        raise ConfigError(
            "--cameras/--workers/--seconds",
            (cameras, workers, seconds),
            ">= 1 camera, >= 1 worker, >= 4 seconds",
        )
    if not bootstrap:
        result = run_embedded(cameras, seconds, clip_spec, burst)
    else:
        result = run_kafka(bootstrap, cameras, seconds, workers, db_url, clip_spec, burst)
    if as_json:
        click.echo(json.dumps({"mode": "kafka" if bootstrap else "embedded", **asdict(result)}))
        return
    _print(result)


def run_embedded(cameras: int, seconds: float, clip_spec: str | None, burst: bool) -> E2EResult:
    """The embedded mode: the same figures for one in-process run at 1 fps sampling."""
    import os

    from pipeline.models.clip_encoder import ClipEncoder
    from workers.bench._embedded import e2e_embedded

    spec = clip_spec or os.environ.get("FEEDWATCH_PERCEPTION_CLIP", "shapes-demo")
    r = e2e_embedded(ClipEncoder.from_spec(spec), cameras, seconds, burst=burst)
    return E2EResult(
        cameras,
        1,
        seconds,
        r["answers"],
        r["latency_p50_ms"],
        r["latency_p95_ms"],
        r["camera_seconds"],
        r["wall_seconds"],
        r["camera_seconds_per_wall_second"],
    )


def run_kafka(
    bootstrap: str,
    cameras: int,
    seconds: float,
    workers: int,
    db_url: str | None,
    clip_spec: str | None,
    burst: bool,
) -> E2EResult:
    """The Kafka mode: a temporary cluster of worker and ingest processes."""
    with tempfile.TemporaryDirectory(prefix="feedwatch-e2e-") as tmp:
        env = {
            "FEEDWATCH_KAFKA_PARTITIONS": str(max(cameras, 2)),
            "FEEDWATCH_PERCEPTION_SAMPLE_FPS": "2",
        }
        if clip_spec:
            env["FEEDWATCH_PERCEPTION_CLIP"] = clip_spec
        url = db_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return run_e2e(bootstrap, url, cameras, seconds, workers, burst, env, Path(tmp))


def _print(result: E2EResult) -> None:
    click.echo(
        f"cameras {result.cameras}  workers {result.workers}  clip {result.seconds:g}s  "
        f"answers {result.answers}"
    )
    click.echo(
        f"latency segment end → answer row: p50 {fmt(result.latency_p50_ms)}  "
        f"p95 {fmt(result.latency_p95_ms)}"
    )
    click.echo(
        f"camera-seconds per wall-second: {result.camera_seconds_per_wall_second} "
        f"({result.camera_seconds} camera-s in {result.wall_seconds} s)"
    )
