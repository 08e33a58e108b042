"""A local scale-out cluster of real processes: ``feedwatch worker`` and ``ingest``.

Used by ``feedwatch bench e2e`` and by the integration tests, so both drive the
product exactly as an operator would: every worker and every camera is its own
process started through the CLI, configured through ``FEEDWATCH_*`` variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CLI = [sys.executable, "-m", "workers.cli"]


@dataclass
class Proc:
    """One child process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Cluster:
    """Workers and ingesters sharing one topic prefix, one group and one database."""

    bootstrap: str
    db_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"fw{uuid.uuid4().hex[:8]}.")
    procs: list[Proc] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        base = dict(os.environ)
        base.update(
            {
                "FEEDWATCH_KAFKA_BOOTSTRAP": self.bootstrap,
                "FEEDWATCH_KAFKA_TOPIC_PREFIX": self.prefix,
                "FEEDWATCH_KAFKA_GROUP_ID": f"{self.prefix}perceive",
                "FEEDWATCH_KAFKA_SINK_GROUP_ID": f"{self.prefix}sink",
                "FEEDWATCH_STORE_URL": self.db_url,
                "OMP_NUM_THREADS": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(self.env)
        return base

    def run(self, *args: str, timeout: float = 120) -> str:
        """Run a short CLI command to completion; its stdout (raises on failure)."""
        done = subprocess.run(
            [*CLI, *args],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"feedwatch {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        """Start a long-running CLI command in its own process group (``env`` on top)."""
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                [*CLI, *args],
                env={**self.environ(), **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, role: str = "all", env: dict[str, str] | None = None) -> Proc:
        return self.spawn(
            name,
            "worker",
            "--role",
            role,
            "--datadir",
            str(self.workdir / f"{name}-data"),
            "--log-level",
            "info",
            env=env,
        )

    def ingest(
        self, camera: str, uri: str, segment_seconds: float = 1.0, realtime: bool = True
    ) -> Proc:
        pace = ["--realtime"] if realtime else []
        return self.spawn(
            f"ingest-{camera}",
            "ingest",
            uri,
            "--camera",
            camera,
            "--kafka",
            self.bootstrap,
            *pace,
            "--quiet",
            "--segment-seconds",
            str(segment_seconds),
        )

    def ingest_many(
        self, name: str, cameras: dict[str, str], segment_seconds: float = 1.0,
        realtime: bool = True, max_cameras: int | None = None,
    ) -> Proc:
        """One ``feedwatch ingest`` process for every camera of ``cameras`` (id → URI),
        handed over in a cameras file."""
        listing = self.workdir / f"{name}.cameras"
        listing.write_text("".join(f"{cam}={uri}\n" for cam, uri in cameras.items()))
        pace = ["--realtime"] if realtime else []
        limit = ["--max-cameras", str(max_cameras or len(cameras))]
        return self.spawn(name, "ingest", "--cameras-file", str(listing), *limit,
                          "--kafka", self.bootstrap, *pace, "--quiet",
                          "--segment-seconds", str(segment_seconds))

    def wait_for_log(self, proc: Proc, needle: str, timeout: float, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.text().count(needle) >= count:
                return
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.text()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"{proc.name}: no {needle!r} after {timeout}s:\n{proc.text()[-3000:]}")

    @staticmethod
    def kill9(proc: Proc) -> None:
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait(timeout=10)

    def close(self) -> None:
        """SIGTERM every child still running, then SIGKILL the stubborn ones."""
        for proc in self.procs:
            if proc.alive():
                os.killpg(proc.popen.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)


def spread_cameras(n: int, partitions: int, prefix: str = "cam") -> list[str]:
    """``n`` camera ids that land on distinct partitions (round-robin when n > partitions)."""
    from connectors.kafka.partitioning import partition_for

    chosen: list[str] = []
    used: dict[int, int] = {}
    i = 0
    while len(chosen) < n:
        name = f"{prefix}{i}"
        p = partition_for(name, partitions)
        if used.get(p, 0) <= min(used.get(q, 0) for q in range(partitions)):
            chosen.append(name)
            used[p] = used.get(p, 0) + 1
        i += 1
    return chosen
