"""Decoder state carried from one segment of a camera to the next of the same GOP.

A mid-GOP segment carries the packets since its keyframe so that it decodes on its
own; decoding them again for every segment costs, on a 10-s GOP cut every 2 s, about
three times the decode work of the stream itself. When this process decoded the
camera's previous segment, its decoder already holds exactly that state: the
decoder is kept (one per camera, :data:`MAX_CAMERAS` at most, least recently used
dropped) together with the times of the packets it was fed, and the next segment
feeds only what comes after them. The check is exact — same keyframe, same packet
times in the same order — so a segment seen out of order, twice, or by another
worker simply decodes its prefix, as it would without this cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import av

MAX_CAMERAS = 32
"""Decoders kept (each holds a GOP's reference frames: a few MB at 1080p)."""


@dataclass
class Carried:
    """A decoder fed every packet of one GOP up to some point, and what it was fed."""

    codec: av.CodecContext
    fed: list[float | None]  # presentation times of the packets fed, decode order


def _key(t: float | None) -> float | None:
    return None if t is None else round(t, 4)


class CarryCache:
    """Per camera, the decoder left after the last segment (thread-safe; a decoder is
    taken out while in use, so two threads never share one)."""

    def __init__(self, max_cameras: int = MAX_CAMERAS) -> None:
        self.max_cameras = max_cameras
        self._kept: OrderedDict[str, Carried] = OrderedDict()
        self._lock = threading.Lock()
        self._origin: dict[str, float] = {}  # the keyframe time of the last GOP seen
        self._gop: dict[str, float] = {}  # the last keyframe interval seen

    def worth_keeping(self, camera: str, origin: float, end: float) -> bool:
        """Will the camera's next segment continue the GOP that starts at ``origin``?
        Judged by the last keyframe interval seen; unknown: yes. Feeding a GOP whole to
        keep its decoder costs the frames after the last sampled one, wasted if not."""
        with self._lock:
            last = self._origin.get(camera)
            if last is not None and origin > last + 1e-3:
                self._gop[camera] = origin - last
            if len(self._origin) > 4 * self.max_cameras and camera not in self._origin:
                self._origin.clear()
                self._gop.clear()
            self._origin[camera] = origin
            gop = self._gop.get(camera)
        return gop is None or origin + gop > end + 1e-3

    def take(self, camera: str, times: list[float | None]) -> tuple[av.CodecContext, int] | None:
        """The decoder for a GOP whose packets (from its keyframe) have ``times``, and how
        many of them it was already fed; None when this process has no matching state."""
        with self._lock:
            kept = self._kept.pop(camera, None)
        if kept is None or not kept.fed or len(kept.fed) > len(times):
            return None
        if [_key(t) for t in times[: len(kept.fed)]] != [_key(t) for t in kept.fed]:
            return None
        return kept.codec, len(kept.fed)

    def keep(self, camera: str, codec: av.CodecContext, fed: list[float | None]) -> None:
        with self._lock:
            self._kept[camera] = Carried(codec, list(fed))
            self._kept.move_to_end(camera)
            while len(self._kept) > self.max_cameras:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._origin.clear()
            self._gop.clear()


CACHE = CarryCache()
"""The process-wide cache ``decode_segment`` uses when asked to carry."""


def fresh_codec(stream: av.VideoStream) -> av.CodecContext:
    """A decoder of the stream's codec that outlives its container."""
    codec = av.CodecContext.create(stream.codec_context.name, "r")
    if stream.codec_context.extradata:
        codec.extradata = stream.codec_context.extradata
    return codec
