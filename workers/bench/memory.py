"""``feedwatch bench memory``: does a long ``feedwatch run`` hold bounded memory?

One synthetic clip (``--seconds`` long, 640×360 by default) is answered by a real
``feedwatch run`` child process with ``--questions`` standing questions; the bench
reads its ``--json`` answer lines and the child's resident memory (``/proc``) at
every line, keyed by stream time. It reports the RSS after the first minute of
stream, at the end of the stream, and the child's peak; the run is *bounded* when
the end is at most ``--allowance-mb`` above the first-minute figure (exit 1 if not).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from workers.ops.rss import peak_rss_mb, rss_mb

CLI = [sys.executable, "-m", "workers.cli"]


def make_clip(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """A seeded synthetic scene, 10 fps, keyframe every second."""
    from pipeline.scenes import random_scene, write_clip

    spec = random_scene(7, duration=seconds, fps=10, size=size, background="clutter")
    return Path(write_clip(spec, path, fps=10, keyframe_interval_s=1.0))


def run_command(clip: Path, db: str, questions: int, clip_spec: str) -> list[str]:
    from pipeline.scenes import captions

    asks = [a for c in captions()[:questions] for a in ("--ask", f"is there {c}?")]
    return [*CLI, "run", str(clip), *asks, "--every", "1s", "--window", "4s", "--json",
            "--db", db, "--clip", clip_spec]


def watch(cmd: list[str], first_minute: float = 60.0) -> dict[str, Any]:
    """Run ``cmd``; RSS by stream time from its answer lines."""
    samples: list[tuple[float, float]] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    origin, peak, answers = None, None, 0
    assert proc.stdout is not None
    for line in proc.stdout:
        end = json.loads(line)["window_end"]
        origin = end if origin is None else origin
        answers += 1
        rss = rss_mb(proc.pid)
        peak = peak_rss_mb(proc.pid) or peak
        if rss is not None:
            samples.append((end - origin, rss))
    code = proc.wait()
    after = next((r for t, r in samples if t >= first_minute), None)
    return {
        "exit_code": code, "answers": answers,
        "stream_seconds": round(samples[-1][0], 1) if samples else 0.0,
        "rss_after_first_minute_mb": after,
        "rss_end_mb": samples[-1][1] if samples else None, "peak_rss_mb": peak,
        "rss_by_stream_minute_mb": _per_minute(samples),
    }


def _per_minute(samples: list[tuple[float, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t, rss in samples:
        out.setdefault(str(int(t // 60)), rss)
    return out


