"""A clip as a camera delivers it: decoded as a stream, sampled at 1 fps, windowed.

:func:`sampled_frames` decodes with PyAV one frame at a time and keeps, for each whole
second ``s`` of stream time (from the first frame), the frame at or just after ``s``
(at 5 fps: frame ``5·s``, as a 1-fps sampler takes it), labelled ``t = s``, turned
upright as the stream's display matrix says (phone video); a second the stream has no
frame in is skipped. :func:`windows` encodes those frames in small
batches with the product's engine (thumbnails included: the second look crops them)
and yields each standing-query window ``[end - window, end)`` as soon as it is
complete, keeping only the encoded frames that windows still due need. Nothing holds
all of a clip's frames.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectors.video.pixels import display_degrees, turned
from pipeline.engine import encode_frames
from pipeline.types import EncodedFrame, Frame

BATCH = 8
"""Sampled frames per encoder call."""
EPS = 1e-6


class DecodeError(RuntimeError):
    """A clip that could not be decoded (no video stream, no frame)."""


@dataclass
class Decoded:
    """What the decode reached: filled in as frames are read."""

    duration: float = 0.0
    """Seconds of stream decoded: the last frame's time plus one frame."""
    frames: int = 0
    samples: int = 0


def sampled_frames(path: Path, camera: str, decoded: Decoded) -> Iterator[Frame]:
    """The 1-fps frames of the clip at ``path``, decoded one at a time."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise DecodeError(f"{path.name}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: a long clip decodes on every core
        rate = stream.average_rate or stream.guessed_rate
        step = float(1 / rate) if rate else 0.0
        origin: float | None = None
        second = 0
        for i, frame in enumerate(container.decode(stream)):
            at = frame.time if frame.time is not None else i * step
            origin = at if origin is None else origin
            t = at - origin
            decoded.frames += 1
            decoded.duration = max(decoded.duration, t + step)
            if t + EPS < second:
                continue
            second = math.floor(t + EPS)
            rgb = turned(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8),
                         display_degrees(frame))  # upright, as a player shows it
            decoded.samples += 1
            yield Frame(camera, float(second), rgb)
            second += 1


def windows(
    encoder: Any, frames: Iterable[Frame], decoded: Decoded, *, window: float, every: float,
    batch: int = BATCH,
) -> Iterator[tuple[float, float, list[EncodedFrame]]]:
    """``(start, end, encoded frames with start <= t < end)`` for every window ending at
    ``window + k·every`` inside the stream, oldest first."""
    kept: deque[EncodedFrame] = deque()
    pending: list[Frame] = []
    k = 0

    def due(upto: float) -> Iterator[tuple[float, float, list[EncodedFrame]]]:
        nonlocal k
        while (end := window + k * every) <= upto + EPS:
            start = end - window
            yield start, end, [f for f in kept if start - EPS <= f.t < end - EPS]
            k += 1
            while kept and kept[0].t < k * every - EPS:  # before the next window's start
                kept.popleft()

    for frame in frames:
        pending.append(frame)
        if len(pending) >= batch:
            kept.extend(encode_frames(encoder, pending))
            last, pending = pending[-1].t, []
            yield from due(last)  # a frame at or after `end`: the window is complete
    kept.extend(encode_frames(encoder, pending))
    yield from due(decoded.duration)
