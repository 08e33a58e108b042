"""Resident memory of processes, read from ``/proc`` (Linux): current and peak.

Benches and the soak report both figures per process: ``VmRSS`` (resident now) and
``VmHWM`` (the high-water mark the kernel kept since the process started), so a peak
between two samples is never missed. Elsewhere the readers return ``None``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _status_kb(pid: int, field: str) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return None


def rss_mb(pid: int | None = None) -> float | None:
    """Resident set size of ``pid`` (default: this process) in MB, now."""
    kb = _status_kb(pid or os.getpid(), "VmRSS")
    return None if kb is None else round(kb / 1024.0, 1)


def peak_rss_mb(pid: int | None = None) -> float | None:
    """The largest resident set size ``pid`` (default: this process) ever had, in MB."""
    kb = _status_kb(pid or os.getpid(), "VmHWM")
    return None if kb is None else round(kb / 1024.0, 1)


def memory_of(pid: int | None = None) -> dict[str, float | None]:
    """``{"rss_mb": now, "peak_rss_mb": high-water mark}`` of one process."""
    return {"rss_mb": rss_mb(pid), "peak_rss_mb": peak_rss_mb(pid)}
