"""``feedwatch soak``: the real stack under scheduled faults, then the figures.

Processes, all started through the CLI like an operator would: one ``feedwatch
ingest --realtime`` per synthetic camera (restarted at the end of its clip, as a
camera reconnects), two ``feedwatch worker --role perceive``, one ``--role sink``,
``feedwatch alerts`` to a signed-webhook receiver on 127.0.0.1 and ``feedwatch api``
(probed by :mod:`workers.soak.hostile`). Faults (:mod:`workers.soak.faults`) are
injected on a schedule; afterwards the report compares the stored answers with the
embedded path replayed over the very segments in the topic, and the delivered
incidents with the alert rule replayed over the stored answers (:mod:`.stack`, :mod:`.report`).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.store.retention import RetentionPolicy
from connectors.store.secret_box import SecretBox, new_key
from workers.ops.rss import peak_rss_mb, rss_mb
from workers.soak import stack
from workers.soak.apiproc import SoakApi
from workers.soak.cluster import Cluster, Proc, spread_cameras
from workers.soak.faults import FAULTS, Control
from workers.soak.receiver import SoakReceiver
from workers.soak.report import LagProbe, SoakReport
from workers.soak.rss import RssLog

HOOK_SECRET = "soak-hook-secret"  # noqa: S105 - a local test receiver's key
HOOK_TIMEOUT_S = 2.0
PARTITIONS = 4


@dataclass
class SoakConfig:
    """One soak run; ``broker``/``postgres`` enable those faults."""

    bootstrap: str
    db_url: str
    cameras: int = 2
    minutes: float = 2.0
    faults: frozenset[str] = frozenset(FAULTS)
    broker: Control | None = None
    postgres: Control | None = None
    workdir: Path | None = None
    clip_seconds: float = 60.0
    drain_s: float = 150.0
    retention: RetentionPolicy | None = None  # what the stack's FEEDWATCH_RETENTION_* ask
    hostile: bool = True  # issue 26's probes sent to the API process during the run
    hostile_interval_s: float = 30.0
    say: Callable[[str], None] = field(default=lambda line: None)


class Soak:
    """Starts the stack, supervises it, injects faults, measures, stops everything."""

    def __init__(self, cfg: SoakConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.receiver = SoakReceiver(HOOK_SECRET)
        self.secrets_key = new_key()  # every process of the stack seals/opens with it
        self.cameras = spread_cameras(cfg.cameras, PARTITIONS, prefix="cam")
        self.clips: dict[str, Path] = {}
        self.roles: dict[str, Proc] = {}
        self.ingests: dict[str, Proc] = {}
        self.paused: set[str] = set()
        self.crashes: list[str] = []
        self.restarts = 0
        self.fuzz_ids: list[str] = []
        self.peak: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.max_lag: dict[str, int] = {}
        self.rule: Any = None
        self.cluster: Cluster | None = None
        self.ingesting = True
        self.bursts = 0
        self.api = SoakApi(cfg.bootstrap, cfg.hostile_interval_s)
        self.rss = RssLog()

    # -- setup ------------------------------------------------------------------------
    def setup(self) -> None:
        spec = stack.tiny_clip(self.workdir)
        for i, cam in enumerate(self.cameras):
            self.clips[cam] = stack.make_clip(self.workdir, cam, i, self.cfg.clip_seconds)
        self.clips["burst"] = stack.make_clip(self.workdir, "burst", 99, 30.0)
        self.make = stack.make_perceivers(spec)
        threshold = stack.calibrate_threshold(self.clips[self.cameras[0]], self.make)
        self.cfg.say(f"setup: {len(self.cameras)} clips, tiny CLIP, alert threshold {threshold}")
        self.receiver.start()
        self.cluster = Cluster(
            self.cfg.bootstrap, self.cfg.db_url, self.workdir, env=self._env(spec)
        )
        for q in stack.QUERIES:
            self.cluster.run(
                "queries",
                "add",
                q.question,
                "--id",
                q.id,
                "--every",
                f"{q.every:g}s",
                "--window",
                f"{q.window:g}s",
            )
        self._alert_rule(threshold)

    def _env(self, spec: str) -> dict[str, str]:
        return {
            **stack.perception_env(spec),
            "FEEDWATCH_KAFKA_PARTITIONS": str(PARTITIONS),
            "FEEDWATCH_KAFKA_SESSION_TIMEOUT_S": "6",
            "FEEDWATCH_KAFKA_HEARTBEAT_INTERVAL_S": "1",
            "FEEDWATCH_KAFKA_COMMIT_INTERVAL_S": "0.5",
            "FEEDWATCH_HOOKS_ALLOW_PRIVATE": "1",
            "FEEDWATCH_SECRETS_KEY": self.secrets_key,
            "FEEDWATCH_HOOKS_TIMEOUT_S": str(HOOK_TIMEOUT_S),
            "FEEDWATCH_HOOKS_BACKOFF_BASE_S": "0.5",
            "FEEDWATCH_HOOKS_BACKOFF_CAP_S": "4",
            "FEEDWATCH_HOOKS_MAX_ATTEMPTS": "100",
        }

    def _alert_rule(self, threshold: float) -> None:
        from connectors.store import Store
        from connectors.store.alerts_repo import AlertStore

        store = Store.from_url(self.cfg.db_url)
        try:
            alerts = AlertStore(store.engine, SecretBox([self.secrets_key.encode()]))
            alerts.add_hook(self.receiver.url, secret=HOOK_SECRET, allow_private=True,
                            hook_id="soak-hook", replace=True, rate_cap=0)  # oracle: no cap
            self.rule = stack.alert_rule(threshold, "soak-hook")
            alerts.add_rule(self.rule, replace=True)
        finally:
            store.close()

    # -- processes ----------------------------------------------------------------------
    def start_role(self, name: str) -> Proc:
        assert self.cluster is not None
        if name == "alerts":
            proc = self.cluster.spawn("alerts", "alerts", "--from", "earliest")
        elif name == "api":
            proc = self.api.spawn(self.cluster)
        else:
            proc = self.cluster.worker(name, "sink" if name == "sink" else "perceive")
        self.roles[name] = proc
        return proc

    def start_stack(self) -> None:
        assert self.cluster is not None
        for name in ("w1", "w2", "sink", "alerts", "api"):
            self.start_role(name)
        for name in ("w1", "w2"):
            self.cluster.wait_for_log(self.roles[name], "queries table ready", timeout=300)
        self.cluster.wait_for_log(self.roles["api"], "Uvicorn running", timeout=120)
        time.sleep(3.0)  # the second join's rebalance
        for cam in self.cameras:
            self._ingest(cam)
        if self.cfg.hostile:
            self.api.start_client(self.cluster.prefix, self.cfg.db_url)

    def _ingest(self, cam: str, realtime: bool = True) -> None:
        assert self.cluster is not None
        clip = self.clips["burst" if cam.startswith("burst") else cam]
        self.ingests[cam] = self.cluster.ingest(cam, str(clip), stack.SEGMENT_S, realtime)

    def supervise(self) -> None:
        """Restart what died on its own (a crash) and cameras whose clip ended."""
        for name, proc in list(self.roles.items()):
            if not proc.alive() and name not in self.paused:
                self.crashes.append(f"{name} exited {proc.popen.returncode}")
                self.cfg.say(f"crash: {name} exited {proc.popen.returncode}; restarting")
                self.restarts += 1
                self.start_role(name)
        for cam, proc in list(self.ingests.items()):
            if not proc.alive() and self.ingesting and cam in self.cameras:
                if cam not in self.paused:
                    self._ingest(cam)

    def measure(self, probe: LagProbe) -> None:
        assert self.cluster is not None
        now: dict[str, float] = {}
        for proc in self.cluster.procs:
            if not proc.alive():  # an exited child's pid may belong to another process now
                continue
            peak, rss = peak_rss_mb(proc.popen.pid), rss_mb(proc.popen.pid)
            if rss is not None:
                self.rss.add(proc.name, proc.popen.pid, time.time(), rss)
            role = proc.name.split("-")[0] if proc.name.startswith("ingest") else proc.name
            if peak is not None:
                self.peak[role] = max(self.peak.get(role, 0.0), peak)
            if rss is not None:
                now[role] = max(now.get(role, 0.0), rss)
        own = peak_rss_mb(os.getpid())
        self.peak["soak"] = max(self.peak.get("soak", 0.0), own or 0.0)
        now["soak"] = rss_mb(os.getpid()) or 0.0
        self.rss.add("soak", os.getpid(), time.time(), now["soak"])
        self.last.update(now)  # the latest sample of each role: its final RSS at the end
        p = self.cluster.prefix
        for group, topic in (("perceive", "segments"), ("sink", "answers")):
            lag = probe.lag(f"{p}{group}", f"{p}{topic}")
            if lag is not None:
                self.max_lag[group] = max(self.max_lag.get(group, 0), lag)

    # -- faults (each returns False when it cannot be injected here) -------------------
    def fault_kill_worker(self) -> bool:
        victim = "w1" if self.restarts % 2 == 0 else "w2"
        self.paused.add(victim)
        try:
            Cluster.kill9(self.roles[victim])
            time.sleep(3.0)
            self.restarts += 1
            self.start_role(victim)
        finally:
            self.paused.discard(victim)
        return True

    def fault_camera(self) -> bool:
        cam = self.cameras[-1]
        self.paused.add(cam)
        proc = self.ingests.get(cam)
        if proc is not None and proc.alive():
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(timeout=10)
        time.sleep(8.0)
        self.paused.discard(cam)
        return True

    def fault_hook(self) -> bool:
        cycle = min(self.cfg.minutes * 60.0, 180.0)
        self.receiver.stop()
        time.sleep(max(15.0, 0.1 * cycle))
        self.receiver.start()
        self.receiver.delay = HOOK_TIMEOUT_S + 1.0  # slower than the sender waits
        time.sleep(max(10.0, 0.06 * cycle))
        self.receiver.delay = 0.0
        return True

    def fault_broker(self) -> bool:
        return _bounce(self.cfg.broker, 8.0)

    def fault_postgres(self) -> bool:
        return _bounce(self.cfg.postgres, 8.0)

    def fault_burst(self) -> bool:
        self.bursts += 1
        self._ingest(f"burst{self.bursts}", realtime=False)
        return True

    def fault_fuzz(self) -> bool:
        from workers.soak.fuzz import inject

        assert self.cluster is not None
        tag = f"fuzz{len(self.fuzz_ids)}"
        self.fuzz_ids += inject(self.cfg.bootstrap, self.cluster.prefix, tag)
        return True

    # -- the run ---------------------------------------------------------------------------
    def stop_ingest(self) -> None:
        self.ingesting = False
        for proc in self.ingests.values():
            if proc.alive():
                os.killpg(proc.popen.pid, signal.SIGTERM)
        for proc in self.ingests.values():
            try:
                proc.popen.wait(timeout=30)
            except Exception:
                os.killpg(proc.popen.pid, signal.SIGKILL)

    def close(self) -> None:
        self.api.stop_client()
        if self.cluster is not None:
            self.cluster.close()
        self.receiver.stop()


def _bounce(control: Control | None, down_s: float) -> bool:
    if control is None:
        return False
    control.stop()
    time.sleep(down_s)
    control.start()
    return True


def run_soak(cfg: SoakConfig) -> SoakReport:
    """Run one soak; every process it started is stopped before it returns."""
    from workers.soak.run import drive

    if cfg.workdir is not None:
        cfg.workdir.mkdir(parents=True, exist_ok=True)
        return drive(Soak(cfg, cfg.workdir))
    with tempfile.TemporaryDirectory(prefix="feedwatch-soak-") as tmp:
        return drive(Soak(cfg, Path(tmp)))

