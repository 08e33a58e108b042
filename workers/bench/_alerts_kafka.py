"""The Kafka mode of ``bench alerts``: the scale-out's real processes, started through
the CLI as an operator would (:class:`workers.soak.cluster.Cluster`).

``queries add`` and ``hooks add --query`` write the question and its rule (the same
settings as the embedded run's ``--hook``), then: one ``feedwatch worker`` (perceive +
sink into the store), ``feedwatch alerts`` (rule evaluator + delivery), ``feedwatch
clips`` (the clip process reading the segments topic), and one ``feedwatch ingest
--realtime`` for every camera. After the ingest ends, the bench waits (up to
``timeout``) until all the work is done; whatever is left is reported by the caller.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.types import StandingQuery
from workers.bench._alert_events import HOOK_RATE_CAP


def run_kafka(bench: Any, query: StandingQuery, bootstrap: str, root: Path, video: Path,
              hook_url: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the cluster once (always stopped); the anchors, spans and wall time."""
    from workers.bench._alert_store import work
    from workers.bench._kafka import segment_spans
    from workers.soak.cluster import Cluster

    if bench.threshold is not None:
        raise ConfigError("--threshold", bench.threshold, "only in the embedded mode")
    from connectors.store import Store

    url = f"sqlite:///{root / 'kafka.db'}"
    cluster = Cluster(bootstrap, url, root, env=_env(bench, root))
    store = None
    try:
        _start(cluster, bench, query, hook_url, say)
        store = Store.from_url(url, upgrade=False)
        t0 = time.time()
        cams = {f"cam{i}": str(video) for i in range(bench.cameras)}
        ingest = cluster.ingest_many("ingest", cams, 2.0, realtime=True)
        say(f"kafka: ingesting {len(cams)} camera(s) live for {bench.duration:.0f} s")
        while ingest.alive():
            time.sleep(0.5)
        if ingest.popen.returncode:
            raise RuntimeError(f"ingest exited {ingest.popen.returncode}:\n{ingest.text()[-2000:]}")
        spans = segment_spans(bootstrap, f"{cluster.prefix}segments")
        engine = store.engine
        done = _wait(lambda: work(engine, query, spans), bench.timeout)
        say(f"kafka: after the ingest, waited {done:.1f} s for the rest of the work")
        return {"spans": spans, "wall_s": time.time() - t0, "db": url}
    finally:
        cluster.close()
        if store is not None:
            store.close()


def _env(bench: Any, root: Path) -> dict[str, str]:
    return {"FEEDWATCH_KAFKA_PARTITIONS": str(max(bench.cameras, 2)),
            "FEEDWATCH_PERCEPTION_CLIP": bench.clip,
            "FEEDWATCH_PERCEPTION_SAMPLE_FPS": f"{bench.sample_fps:g}",
            "FEEDWATCH_HOOKS_ALLOW_PRIVATE": "true", "FEEDWATCH_HOOKS_POLL_S": "0.1",
            "FEEDWATCH_CLIPS_DIR": str(root / "clips"), "FEEDWATCH_LOG_LEVEL": "INFO"}


def _start(cluster: Any, bench: Any, query: StandingQuery, hook_url: str,
           say: Callable[[str], None]) -> None:
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the result
        cams = [a for i in range(bench.cameras) for a in ("--camera", f"cam{i}")]
        cluster.run("queries", "add", query.question, "--id", query.id, *cams,
                    "--every", f"{query.every:g}s", "--window", f"{query.window:g}s")
        cluster.run("hooks", "add", hook_url, "--allow-private", "--query", query.id,
                    "--open-after", str(bench.open_after), "--close-after", "2",
                    "--rate-cap", str(HOOK_RATE_CAP))
    worker = cluster.worker("worker")
    alerts = cluster.spawn("alerts", "alerts", "--from", "earliest")
    clips = cluster.spawn("clips", "clips")
    cluster.wait_for_log(worker, "queries table ready", timeout=180)
    cluster.wait_for_log(alerts, "alerts: watching", timeout=60)
    cluster.wait_for_log(clips, "clips: indexing", timeout=60)
    say("kafka: worker, alerts and clips processes up")


def _wait(check: Callable[[], dict[str, Any]], timeout: float) -> float:
    """Poll ``check`` until its shortfall is empty or ``timeout`` s passed; the wait."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not check()["shortfall"]:
            break
        time.sleep(0.5)
    return time.time() - t0
