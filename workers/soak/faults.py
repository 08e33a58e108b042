"""The soak's fault schedule and the faults themselves.

Each fault is a blocking action (inject, wait, undo) run by one thread in schedule
order; a fault whose time comes after the run's end is skipped and reported.
Broker and database faults need a :class:`Control` (the test passes the fixture's
service; the CLI takes ``--broker-stop/--broker-start``-style shell commands).
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

FAULTS = ("fuzz", "kill-worker", "burst", "camera", "hook", "broker", "postgres")
"""Every fault, in the order one cycle injects them."""
OFFSETS = {
    "fuzz": 0.05,
    "kill-worker": 0.08,
    "burst": 0.18,
    "camera": 0.26,
    "hook": 0.36,
    "broker": 0.58,
    "postgres": 0.75,
}
"""When in a cycle each fault starts (fraction of the cycle)."""
MAX_CYCLE_S = 180.0


class Control(Protocol):
    """Something that can be stopped and started again (a broker, a database)."""

    def stop(self) -> None: ...

    def start(self) -> Any: ...


@dataclass(frozen=True)
class ShellControl:
    """A Control made of two shell commands (for ``feedwatch soak`` on a real host)."""

    stop_cmd: str
    start_cmd: str

    def stop(self) -> None:
        subprocess.run(shlex.split(self.stop_cmd), check=True, timeout=300)

    def start(self) -> None:
        subprocess.run(shlex.split(self.start_cmd), check=True, timeout=300)


def parse_faults(text: str) -> frozenset[str]:
    """``all``, ``none`` or a comma list of :data:`FAULTS`."""
    from pipeline.errors import ConfigError

    if text.strip() in ("all", ""):
        return frozenset(FAULTS)
    if text.strip() == "none":
        return frozenset()
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(FAULTS))
    if unknown:
        raise ConfigError("--faults", text, f"'all', 'none' or a comma list of {', '.join(FAULTS)}")
    return frozenset(names)


def schedule(faults: frozenset[str], seconds: float) -> list[tuple[float, str]]:
    """(start second, fault) for every cycle that fits in ``seconds``."""
    cycle = min(seconds, MAX_CYCLE_S)
    out = []
    k = 0
    while k * cycle < seconds:
        for name in FAULTS:
            t = k * cycle + OFFSETS[name] * cycle
            if name in faults and t < seconds:
                out.append((round(t, 1), name))
        k += 1
    return sorted(out)


@dataclass
class FaultRunner:
    """Runs the schedule against a soak (anything with the ``fault_*`` methods)."""

    plan: list[tuple[float, str]]
    soak: Any
    t0: float
    end: float
    say: Callable[[str], None]

    def __post_init__(self) -> None:
        self.done: dict[str, int] = {}
        self.skipped: list[str] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)

    def start(self) -> FaultRunner:
        self.thread.start()
        return self

    def _run(self) -> None:
        for at, name in self.plan:
            wait = self.t0 + at - time.time()
            if wait > 0:
                time.sleep(wait)
            if time.time() > self.end - 5:
                self.skipped.append(f"{name}@{at:g}s (no time left)")
                continue
            self._one(name)

    def _one(self, name: str) -> None:
        self.say(f"fault: {name} at {time.time() - self.t0:.0f}s")
        try:
            if getattr(self.soak, f"fault_{name.replace('-', '_')}")():
                self.done[name] = self.done.get(name, 0) + 1
            else:
                self.skipped.append(f"{name} (no control)")
        except Exception as exc:  # a failed fault is reported, the soak goes on
            self.errors.append(f"{name}: {exc}")
            self.say(f"fault {name} failed: {exc}")

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
