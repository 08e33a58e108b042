"""Does any process of the soak grow? RSS after minute 10 against RSS at the end.

Every sample is kept per process instance (name and pid: a restarted worker is a new
instance). For each process name the judged instance is the last one that lived long
enough: its baseline is its first sample at or after ``max(run start + after_s,
instance start + warm_s)`` (a restarted process is measured from its restart, once it
has loaded its model), its end is its last sample of the run. An instance that left
less than ``min_span_s`` between baseline and end is not judged; the one before it is.
Ingest processes live for one clip each, so they are judged together as one series
(the largest live ``ingest-*`` at each sample) from minute 10 on. The harness itself
(``soak``: the receiver's records, the oracle's model) is shown but not judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AFTER_S = 600.0
WARM_S = 60.0
MIN_SPAN_S = 120.0
TOLERANCE = 0.05
HARNESS = "soak"


@dataclass
class Instance:
    name: str
    pid: int
    start: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (time, MiB)


@dataclass
class RssLog:
    """Samples of every process of the stack, in the order they were taken."""

    instances: dict[tuple[str, int], Instance] = field(default_factory=dict)

    def add(self, name: str, pid: int, t: float, mib: float) -> None:
        name = "ingest" if name.startswith("ingest") or name.startswith("burst") else name
        key = (name, pid)
        if key not in self.instances:
            self.instances[key] = Instance(name, pid, t)
        self.instances[key].samples.append((t, mib))

    def _series(self, name: str) -> list[Instance]:
        found = sorted((i for i in self.instances.values() if i.name == name),
                       key=lambda i: i.start)
        if name != "ingest":
            return found
        merged: dict[float, float] = {}
        for inst in found:
            for t, mib in inst.samples:
                merged[round(t)] = max(merged.get(round(t), 0.0), mib)
        first = found[0].start if found else 0.0
        return [Instance("ingest", 0, first, sorted(merged.items()))]

    def judge(self, t0: float, end: float, after_s: float = AFTER_S,
              warm_s: float = WARM_S, min_span_s: float = MIN_SPAN_S,
              tolerance: float = TOLERANCE) -> dict[str, Any]:
        """Per process: baseline and end RSS and whether they are within ``tolerance``."""
        out: dict[str, Any] = {}
        for name in sorted({i.name for i in self.instances.values()}):
            series = self._series(name)
            verdict = None
            for inst in reversed(series):
                warm = 0.0 if name == "ingest" else warm_s
                verdict = _judge(inst, max(t0 + after_s, inst.start + warm), end,
                                 min_span_s, tolerance, t0)
                if verdict is not None:
                    break
            out[name] = verdict or {"judged": False, "instances": len(series)}
            out[name]["instances"] = len(series)
        if HARNESS in out:
            out[HARNESS]["harness"] = True
        judged = [v for k, v in out.items() if v.get("judged") and k != HARNESS]
        return {"after_s": after_s, "warm_s": warm_s, "tolerance": tolerance,
                "ok": bool(judged) and all(v["within"] for v in judged), "processes": out}


def _judge(inst: Instance, base_t: float, end: float, min_span_s: float,
           tolerance: float, t0: float) -> dict[str, Any] | None:
    inside = [(t, m) for t, m in inst.samples if base_t <= t <= end]
    if not inside or inside[-1][0] - inside[0][0] < min_span_s:
        return None
    (tb, mb), (te, me) = inside[0], inside[-1]
    change = (me - mb) / mb if mb else 0.0
    return {"judged": True, "started_s": round(inst.start - t0, 1),
            "baseline_s": round(tb - t0, 1), "baseline_mb": round(mb, 1),
            "end_s": round(te - t0, 1), "end_mb": round(me, 1),
            "change_pct": round(100 * change, 2), "within": abs(change) <= tolerance,
            "max_mb": round(max(m for _, m in inside), 1)}
