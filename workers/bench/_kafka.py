"""The Kafka mode of ``bench e2e``: real ingest processes, workers and the sink, timed.

Every camera's clip is ingested by one ``feedwatch ingest --cameras-file --kafka``
process, or each by its own (``one_ingest=False``), in real time unless ``burst``;
``workers`` ``feedwatch worker`` processes (role ``all``: perceive + sink) answer the
standing questions into a SQL store. The bench polls the answers table (a thread of its
own), reads the segments back from the topic to count the due
windows, scrapes each worker's metrics endpoint for the encoder's own counters, and
reads every process's resident memory from ``/proc``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.types import StandingQuery
from workers.ops.rss import memory_of


@dataclass
class KafkaRun:
    """What one Kafka-mode run observed."""

    seen: dict[tuple[str, str, float], float] = field(default_factory=dict)
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    started: float = 0.0
    counters: dict[str, float] = field(default_factory=dict)
    memory: dict[str, dict[str, float | None]] = field(default_factory=dict)
    waited_s: float = 0.0
    timings: dict[tuple[str, str, float], dict[str, float]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """The feedwatch encoder and frame counters of one worker's /metrics."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our own child
        text = resp.read().decode()
    out = {"encoder_frames": 0.0, "encoder_calls": 0.0, "frames": 0.0}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == "feedwatch_encoder_frames":
            out["encoder_frames"] += float(value)
        elif name == "feedwatch_encoder_calls":
            out["encoder_calls"] += float(value)
        elif name.startswith("feedwatch_frames_encoded_total{"):
            out["frames"] += float(value)
    return out


class RowWatcher:
    """Polls the answers table every ``every`` s from its own thread (so nothing the bench
    does meanwhile delays a sighting); remembers when each (query, camera, end) first
    appeared."""

    def __init__(self, store: Any, every: float = 0.05) -> None:
        self.store = store
        self.every = every
        self.seen: dict[tuple[str, str, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="row-watcher", daemon=True)

    def poll(self) -> int:
        now = time.time()
        for a in self.store.answers():
            self.seen.setdefault((a.query_id, a.camera, a.window_end), now)
        return len(self.seen)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.poll()


def run_kafka(
    bootstrap: str,
    clips: dict[str, Path],
    queries: list[StandingQuery],
    *,
    workers: int,
    burst: bool,
    env: dict[str, str],
    workdir: Path,
    expected: Any,
    timeout: float,
    one_ingest: bool = True,
) -> KafkaRun:
    """Run the cluster once; ``expected(spans)`` counts the due windows (always stopped)."""
    from connectors.store import Store
    from workers.bench.waterfall import answer_timings
    from workers.soak.cluster import Cluster

    url = f"sqlite:///{workdir / 'kafka.db'}"
    cluster = Cluster(bootstrap, url, workdir, env=env)
    out = KafkaRun()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the result
            for q in queries:
                cams = [a for c in q.cameras for a in ("--camera", c)]
                cluster.run("queries", "add", q.question, "--id", q.id, *cams,
                               "--every", f"{q.every:g}s", "--window", f"{q.window:g}s")
        ports = [free_port() for _ in range(workers)]
        procs = [cluster.worker(f"w{i}", env={"FEEDWATCH_METRICS_PORT": str(port)})
                 for i, port in enumerate(ports)]
        for p in procs:
            cluster.wait_for_log(p, "queries table ready", timeout=180)
        store = Store.from_url(url, upgrade=False)
        watcher = RowWatcher(store)
        watcher.start()
        out.started = time.time()
        ingests = _ingest(cluster, clips, burst, one_ingest)
        while any(p.alive() for p in ingests):
            _note_memory(out, ingests + procs)
            time.sleep(0.1)
        out.spans = segment_spans(bootstrap, f"{cluster.prefix}segments")
        want, t0 = expected(out.spans), time.time()
        while len(watcher.seen) < want and time.time() - t0 < timeout:
            _note_memory(out, procs)
            time.sleep(0.1)
        watcher.stop()
        out.waited_s = round(time.time() - t0, 1)
        out.seen = dict(watcher.seen)
        out.timings = answer_timings(bootstrap, f"{cluster.prefix}answers")
        store.close()
        _note_memory(out, procs)
        for port in ports:
            for k, v in scrape(port).items():
                out.counters[k] = out.counters.get(k, 0.0) + v
    finally:
        cluster.close()
    return out


def _ingest(cluster: Any, clips: dict[str, Path], burst: bool, one: bool) -> list[Any]:
    """One ``feedwatch ingest`` for every camera (``one``), or one per camera."""
    if one:
        cams = {c: str(path) for c, path in clips.items()}
        return [cluster.ingest_many("ingest", cams, 2.0, realtime=not burst)]
    return [cluster.ingest(c, str(path), 2.0, realtime=not burst) for c, path in clips.items()]


def _note_memory(out: KafkaRun, procs: list[Any]) -> None:
    for p in procs:
        if p.alive():
            mem = memory_of(p.popen.pid)
            if mem["rss_mb"] is not None:
                out.memory[p.name] = mem


def segment_spans(bootstrap: str, topic: str) -> dict[str, list[tuple[float, float]]]:
    """Per camera, the sorted (start, end) times of its segments in the topic."""
    from kafka import KafkaConsumer

    from connectors.bus import messages as msg
    from connectors.kafka.clients import kafka_client
    from pipeline.errors import MessageError
    from workers.config import KafkaSettings

    consumer = kafka_client(
        KafkaConsumer,
        KafkaSettings(bootstrap=bootstrap),  # SASL/TLS from FEEDWATCH_KAFKA_*
        topic,
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
