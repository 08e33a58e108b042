"""Helpers shared by the service launchers: ports, waiting, logs, stopping."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class ServiceError(RuntimeError):
    """A test service could not be provisioned, started or stopped (message has the log tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note when there is none."""
    if path is None or not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def cache_root() -> Path:
    """Where downloaded service artefacts are kept between runs."""
    explicit = os.environ.get("FEEDWATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "feedwatch"


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``ready`` until it is true; fail early if ``proc`` dies, with the log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode}:\n{log_tail(log)}")
        if ready():
            return
        time.sleep(interval)
    raise ServiceError(f"{what} not ready after {timeout:.0f}s:\n{log_tail(log)}")


# The child must die with the thread that spawned it. Asked for through util-linux's
# `setpriv --pdeathsig` (it sets PR_SET_PDEATHSIG and execs the service): no Python
# code between fork and exec (a ``preexec_fn`` forces a plain fork, runs every
# at-fork handler of the test process — torch's, FFmpeg's threads' — in the child, and
# a child that inherits a held lock never execs the service).
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def spawn(
    args: list[str], log: Path, cwd: Path | None = None, **kwargs: object
) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group with stdout+stderr appended to ``log``.

    The child dies with the thread that spawned it: start services from a thread
    that outlives them (pytest's main thread does).
    """
    prefix = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []
    with open(log, "ab") as out:
        return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
            prefix + args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )


def stop_process(
    proc: subprocess.Popen[bytes] | None, grace: float = 20.0, sig: signal.Signals = signal.SIGTERM
) -> None:
    """Signal the process group (``sig``), then SIGKILL it if it outlives ``grace``.

    Returns once the whole group is gone, not just its leader: a server's children (a
    database's backends) still hold client sockets for a moment after the leader dies."""
    if proc is None or proc.poll() is not None:
        return
    _signal_group(proc, sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _group_alive(proc) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group_alive(proc):
        _signal_group(proc, signal.SIGKILL)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    """Whether any live (not zombie) process is left in ``proc``'s process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == proc.pid and fields[0] != "Z":
            return True
    return False


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def run_checked(args: list[str], what: str, timeout: float = 120, **kwargs: Any) -> str:
    """Run a short command; a failure becomes a ServiceError with its output."""
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        out = (done.stdout + done.stderr)[-4000:]
        raise ServiceError(f"{what} failed (exit {done.returncode}):\n{out}")
    return str(done.stdout)


class ManagedService:
    """What the Kafka and PostgreSQL launchers share: restart, close, running, log tail.

    Subclasses set ``proc``, ``workdir``, ``_own_workdir``, an ``external`` flag and a
    ``log_path``, and implement ``start(timeout)`` and ``stop(graceful)``.
    """

    proc: subprocess.Popen[bytes] | None
    workdir: Path
    _own_workdir: bool
    external: bool
    log_path: Path

    def start(self, timeout: float) -> Any:
        raise NotImplementedError

    def stop(self, graceful: bool = True) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        if self.external:
            return True
        return self.proc is not None and self.proc.poll() is None

    def restart(self, timeout: float = 90) -> Any:
        """Stop and start again on the same ports and data directory."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop and remove the working directory this object created."""
        if self.external:
            return
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)
