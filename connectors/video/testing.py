"""Test doubles shipped with the code: tiny clips, an in-memory source and sink.

``make_clip`` writes a small H.264 clip with PyAV (a moving gradient plus a frame
counter block), so tests and benchmarks need no external tools.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from numbers import Integral
from pathlib import Path

import av
import numpy as np

from connectors.video.base import SegmentSink, VideoSource
from connectors.video.packets import StreamInfo, TimedPacket
from pipeline.errors import ConfigError
from pipeline.types import Segment


def make_clip(
    path: str | Path,
    *,
    seconds: float = 4.0,
    fps: int = 25,
    keyframe_interval_s: float = 2.0,
    size: tuple[int, int] = (320, 240),
    container: str | None = None,
    bframes: int = 0,
) -> Path:
    """Write a synthetic H.264 clip; keyframes exactly every ``keyframe_interval_s``
    (:class:`ConfigError` names an argument the encoder cannot take)."""
    _check_clip_args(seconds, fps, keyframe_interval_s, size)
    path = Path(path)
    width, height = size
    gop = max(1, round(keyframe_interval_s * fps))
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
        stream.codec_context.options = {
            "preset": "ultrafast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(_picture(i, width, height), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _check_clip_args(seconds: float, fps: int, keyframe_s: float,
                     size: tuple[int, int]) -> None:
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError("seconds", seconds, "a finite number of seconds, at least 0")
    if not (isinstance(fps, Integral) and fps >= 1):
        raise ConfigError("fps", fps, "a whole number of frames per second, at least 1")
    if not (math.isfinite(keyframe_s) and keyframe_s > 0):
        raise ConfigError("keyframe_interval_s", keyframe_s, "a finite number of seconds above 0")
    if not all(isinstance(v, Integral) and v >= 2 and v % 2 == 0 for v in size):
        raise ConfigError("size", size, "(width, height), even whole numbers (H.264 4:2:0)")


def _picture(i: int, width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (x + i * 7) % 256
    img[..., 1] = (y + i * 3) % 256
    img[..., 2] = (i * 11) % 256
    bw = max(4, width // 16)
    col = (i % 16) * bw
    img[: height // 4, col : col + bw] = 255
    return img


class MemorySource(VideoSource):
    """Replays ready-made packets, then raises ``error()`` if given (after
    ``fail_after`` packets when set, else after all of them)."""

    def __init__(self, camera: str, packets: Iterable[TimedPacket], info: StreamInfo,
                 *, live: bool = True, fail_after: int | None = None,
                 error: Callable[[], Exception] | None = None) -> None:
        self.camera, self.live = camera, live
        self._packets = list(packets)
        self._info = info
        self._fail_after = fail_after
        self._error = error
        self.closed = False

    @property
    def info(self) -> StreamInfo:
        return self._info

    @property
    def stream(self) -> av.VideoStream:
        return self._packets[0].packet.stream

    def __iter__(self) -> Iterator[TimedPacket]:
        n = len(self._packets) if self._fail_after is None else self._fail_after
        yield from self._packets[:n]
        if self._error is not None:
            raise self._error()

    def close(self) -> None:
        self.closed = True


class MemorySink(SegmentSink):
    """Keeps flushed segments in a list (``flushed``); ``pending`` until flush."""

    def __init__(self) -> None:
        self.pending: list[Segment] = []
        self.flushed: list[Segment] = []
        self.flushes = 0

    def add(self, segment: Segment) -> None:
        self.pending.append(segment)

    def flush(self) -> None:
        self.flushed += self.pending
        self.pending = []
        self.flushes += 1
