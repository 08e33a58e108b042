"""``feedwatch bench decode``: what sampling a camera costs, for short and long GOPs.

For each keyframe interval a generated 25 fps clip is segmented twice, like a live feed:
at keyframes (segments as long as the GOP) and at the 2-s target even mid-GOP (the
default: each segment carries the packets since its keyframe). Four rows per GOP:

- ``keyframe segments, full decode``: every packet decoded — the baseline;
- ``keyframe segments, sampling decoder``: keyframes only, or minimal runs per GOP;
- ``mid-GOP segments, prefix decoded``: each segment decoded alone, its prefix again
  (a worker that did not see the camera's previous segment);
- ``mid-GOP segments, decoder carried``: what ships; the worker that decoded the
  previous segment resumes its decoder (``connectors.video.carry``).

Reported per row: decoded frames per sampled frame, wall time (best of ``--repeat``),
bytes per segment and the carried share, and the longest segment (how long a camera
waits before its frames can be looked at). Ratios are against the baseline of the
same GOP, measured in the same run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.types import Segment

BASELINE = "keyframe segments, full decode"


@dataclass(frozen=True)
class Row:
    gop_s: float
    mode: str
    plan: str
    segments: int
    longest_segment_s: float
    kb_per_segment: float
    carried_share: float  # of the bytes sent, the share that is carried prefix
    decoded: int
    sampled: int
    decoded_per_sample: float
    seconds: float
    vs_baseline_decoded: float = 1.0
    vs_baseline_time: float = 1.0
    vs_keyframe_bytes: float = 1.0


def make_bench_clip(path: Path, seconds: float, size: tuple[int, int], keyframe_s: float,
                    fps: int = 25, bframes: int = 0) -> Path:
    """A synthetic H.264 clip at ``fps`` with fixed keyframes (and B-frames if asked)."""
    from connectors.video.testing import make_clip

    return make_clip(path, seconds=seconds, fps=fps, keyframe_interval_s=keyframe_s, size=size,
                     bframes=bframes)


def load_segments(path: Path, mid_gop: bool = True) -> list[Segment]:
    from connectors.video.segmenter import Segmenter
    from connectors.video.settings import VideoSettings
    from connectors.video.sources import open_source

    settings = VideoSettings(cut_mid_gop=mid_gop)
    with open_source(str(path), "bench") as source:
        return list(Segmenter.from_config("bench", settings).run(source))


def measure(segments: list[Segment], sample_fps: float, full: bool, repeat: int,
            carry: bool = False) -> tuple[float, int, int, str]:
    """Best wall time over ``repeat`` passes; decoded and sampled frames of one pass; plan."""
    from connectors.video.carry import CACHE
    from connectors.video.decoder import DecodeStats, decode_segment, plan_for

    best, stats = float("inf"), DecodeStats()
    for _ in range(repeat):
        stats = DecodeStats()
        CACHE.clear()
        t0 = time.perf_counter()
        for s in segments:
            decode_segment(s, sample_fps, keyframes_only=False if full else None, stats=stats,
                           carry=carry)
        best = min(best, time.perf_counter() - t0)
    plans = sorted({plan_for(s, sample_fps) for s in segments})
    return best, stats.decoded, stats.sampled, "full" if full else "+".join(plans)


def _row(gop: float, mode: str, segments: list[Segment], sample_fps: float, full: bool,
         repeat: int, carry: bool = False) -> Row:
    secs, decoded, sampled, plan = measure(segments, sample_fps, full, repeat, carry)
    carried = sum(_carried_bytes(s) for s in segments)
    total = sum(len(s.data) for s in segments)
    return Row(gop, mode, plan, len(segments), max(s.duration for s in segments),
               total / len(segments) / 1000, carried / total if total else 0.0, decoded, sampled,
               decoded / sampled if sampled else float("nan"), secs)


def _carried_bytes(segment: Segment) -> float:
    from connectors.video.decoder import carried_share

    return carried_share(segment) * len(segment.data)


def bench_gop(path: Path, gop: float, sample_fps: float, repeat: int) -> list[Row]:
    """The four rows of one clip, ratios against its baseline."""
    at_keys, mid = load_segments(path, mid_gop=False), load_segments(path, mid_gop=True)
    rows = [_row(gop, BASELINE, at_keys, sample_fps, True, repeat),
            _row(gop, "keyframe segments, sampling decoder", at_keys, sample_fps, False, repeat),
            _row(gop, "mid-GOP segments, prefix decoded", mid, sample_fps, False, repeat),
            _row(gop, "mid-GOP segments, decoder carried", mid, sample_fps, False, repeat,
                 carry=True)]
    base = rows[0]
    kb = rows[1].kb_per_segment * rows[1].segments  # bytes sent at keyframes, whole clip
    return [Row(**{**asdict(r), "vs_baseline_decoded": r.decoded / base.decoded,
                   "vs_baseline_time": r.seconds / base.seconds,
                   "vs_keyframe_bytes": r.kb_per_segment * r.segments / kb}) for r in rows]


MIN_SIDE, MAX_SIDE = 16, 3840
"""Generated clips' width and height, even (H.264 4:2:0 halves both for colour)."""
MAX_GOP_S = 3600.0


def frame_size(value: str) -> tuple[int, int]:
    allowed = f"WxH, e.g. 640x360: even numbers from {MIN_SIDE} to {MAX_SIDE}"
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise ConfigError("--size", value, allowed) from None
    if not all(MIN_SIDE <= v <= MAX_SIDE and v % 2 == 0 for v in (w, h)):
        raise ConfigError("--size", value, allowed)
    return w, h


def gop_list(value: str) -> list[float]:
    try:
        gops = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        gops = []
    if not gops or not all(0 < g <= MAX_GOP_S for g in gops):  # NaN fails the comparison
        raise ConfigError("--gops", value, "comma-separated keyframe intervals in seconds, "
                          f"each above 0 and at most {MAX_GOP_S:g}")
    return gops
