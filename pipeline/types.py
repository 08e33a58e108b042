"""Frozen value objects shared by every layer.

Times are UTC epoch seconds (floats) everywhere; for a plain file source they are
seconds from the start of the file. Images are ``numpy`` uint8 arrays, H×W×3 RGB.
Embeddings are ``numpy`` float32 arrays, L2-normalised in the joint CLIP space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Segment:
    """A piece of one camera's stream that decodes on its own (see ``lead``)."""

    camera: str
    seq: int
    start: float
    duration: float
    data: bytes
    container: str = "mpegts"
    codec: str = "h264"
    width: int = 0
    height: int = 0
    lead: float = 0.0
    """Seconds of packets carried before ``start`` (from the keyframe a mid-GOP segment
    needs); frames before ``start`` are decoded only to reach the segment's own."""
    rotation: int = 0
    """Degrees (0, 90, 180, 270) to turn the frames counterclockwise to show them upright:
    the source's display matrix (portrait phone video), which MPEG-TS cannot carry."""
    closed_at: float = 0.0
    """When ingest cut the segment, UTC epoch s on its wall clock (0: not recorded); the
    first event of the latency waterfall (:mod:`pipeline.timings`)."""

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Frame:
    """One sampled, decoded frame of a camera."""

    camera: str
    t: float
    rgb: ImageArray
    seq: int = -1
    keyframe: bool = False
    thumb: ImageArray | None = None
    """The decoder's small copy of ``rgb`` (longer side :data:`pipeline.evidence.THUMB_SIDE`),
    scaled from the codec's picture; None: the engine shrinks ``rgb`` itself."""


@dataclass(frozen=True)
class EncodedFrame:
    """A frame after the CLIP image encoder: computed once, shared by every question.

    ``patches`` is the true 2-D patch grid (h, w, D) projected into the joint space;
    it covers the whole frame (frames are squashed, never centre-cropped), so grid
    cell (i, j) maps proportionally onto the frame. ``thumb`` is a small RGB copy
    kept for evidence images and VLM input.
    """

    camera: str
    t: float
    global_emb: FloatArray
    patches: FloatArray
    thumb: ImageArray
    frame_size: tuple[int, int]  # (height, width) of the original frame

    @property
    def nbytes(self) -> int:
        return int(self.global_emb.nbytes + self.patches.nbytes + self.thumb.nbytes)


@dataclass(frozen=True)
class RoI:
    """A box on a token grid: rows [top, top+height), columns [left, left+width)."""

    top: int
    left: int
    height: int
    width: int
    grid_h: int
    grid_w: int

    def __post_init__(self) -> None:
        if not (0 <= self.top and self.top + self.height <= self.grid_h and self.height >= 1):
            raise ValueError(f"RoI rows out of grid: {self}")
        if not (0 <= self.left and self.left + self.width <= self.grid_w and self.width >= 1):
            raise ValueError(f"RoI columns out of grid: {self}")

    @property
    def tokens(self) -> int:
        return self.height * self.width

    def normalized(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) as fractions of the frame."""
        return (
            self.left / self.grid_w,
            self.top / self.grid_h,
            (self.left + self.width) / self.grid_w,
            (self.top + self.height) / self.grid_h,
        )

    def to_pixels(self, frame_h: int, frame_w: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels of a frame of the given size."""
        x0, y0, x1, y1 = self.normalized()
        return (
            math.floor(x0 * frame_w),
            math.floor(y0 * frame_h),
            math.ceil(x1 * frame_w),
            math.ceil(y1 * frame_h),
        )

    @classmethod
    def full(cls, grid_h: int, grid_w: int) -> RoI:
        return cls(0, 0, grid_h, grid_w, grid_h, grid_w)


@dataclass(frozen=True)
class StandingQuery:
    """A question subscribed to cameras, evaluated every ``every`` s over ``window`` s."""

    id: str
    question: str
    cameras: tuple[str, ...] = ("*",)
    every: float = 1.0
    window: float = 4.0
    answerer: str = "clip"
    settings: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def watches(self, camera: str) -> bool:
        return "*" in self.cameras or camera in self.cameras


@dataclass(frozen=True)
class Evidence:
    """A small JPEG of one selected frame with its RoI box drawn."""

    t: float
    jpeg: bytes
    box: tuple[float, float, float, float]  # normalised (x0, y0, x1, y1)


@dataclass(frozen=True)
class Answer:
    """One evaluation of one standing query on one camera window."""

    query_id: str
    question: str
    camera: str
    window_start: float
    window_end: float
    evaluated_at: float
    answerer: str
    text: str
    matched: bool | None
    score: float | None
    frames: tuple[float, ...]
    rois: tuple[tuple[float, float, float, float], ...]
    visual_tokens: int
    latency_ms: float
    model_ids: dict[str, str] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    stages: dict[str, Any] = field(default_factory=dict)  # what each answerer stage said
    backfilled: bool = False  # answered later over stored history, not live
    every: float | None = None  # the query's step when answered (None: not recorded)
    query_version: int | None = None  # the query's version when answered (None: not recorded)
    timings: dict[str, float] = field(default_factory=dict)  # event → epoch s (pipeline.timings)
