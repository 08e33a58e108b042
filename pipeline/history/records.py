"""What the frame index keeps per encoded frame, and the way back for backfill.

A stored frame is its global embedding (float16 on disk: the same precision as
pgvector's ``halfvec``), a small JPEG thumbnail, and optionally its patch grid
average-pooled to at most ``grid_max`` cells a side (so a search hit or a backfilled
answer can still point at a region). Converting back gives an :class:`EncodedFrame`
the live selection, RoI estimator and answerers accept unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.errors import ConfigError
from pipeline.evidence import STORED_GRID_MAX, STORED_THUMB_SIDE, pool_grid, thumbnail
from pipeline.types import EncodedFrame, FloatArray, ImageArray

DEFAULT_THUMB_SIDE = STORED_THUMB_SIDE
DEFAULT_GRID_MAX = STORED_GRID_MAX
THUMB_QUALITY = 85
"""JPEG quality of stored thumbnails, with full-resolution colour (4:4:4, no chroma
subsampling): a backfilled answer's closer look (:mod:`pipeline.answerers.second_look`)
crops these pixels, and at 160 px halved colour planes blur a small object's colour
into its neighbours' (a closer look at quality 70 4:2:0 did no better than none;
85 4:4:4 as well as the raw pixels; about 1.8× the bytes: 3.4 KB a frame here)."""


@dataclass(frozen=True)
class IndexedFrame:
    """One row of the frame index."""

    camera: str
    t: float
    model_id: str
    embedding: FloatArray  # (D,), L2-normalised
    thumb: bytes  # JPEG
    grid: FloatArray | None = None  # (h, w, D) pooled patch grid, or None
    frame_size: tuple[int, int] = (0, 0)  # (height, width) of the original frame

    @property
    def dim(self) -> int:
        return int(self.embedding.shape[0])


@dataclass(frozen=True)
class IndexPolicy:
    """How much of each frame the index keeps."""

    thumb_side: int = DEFAULT_THUMB_SIDE
    grid_max: int = DEFAULT_GRID_MAX  # 0: no patch grid

    def __post_init__(self) -> None:
        if not (isinstance(self.thumb_side, int) and 16 <= self.thumb_side <= 1024):
            raise ConfigError("index.thumb_side", self.thumb_side, "a whole number 16..1024")
        if not (isinstance(self.grid_max, int) and 0 <= self.grid_max <= 64):
            raise ConfigError("index.grid_max", self.grid_max, "a whole number 0..64 (0: off)")


def to_indexed(frame: EncodedFrame, model_id: str, policy: IndexPolicy) -> IndexedFrame:
    """The index row of one encoded frame."""
    grid = pool_grid(frame.patches, policy.grid_max) if policy.grid_max else None
    return IndexedFrame(
        camera=frame.camera,
        t=float(frame.t),
        model_id=model_id,
        embedding=np.asarray(frame.global_emb, dtype=np.float32),
        thumb=encode_jpeg(thumbnail(frame.thumb, policy.thumb_side)),
        grid=grid,
        frame_size=frame.frame_size,
    )


def to_encoded(row: IndexedFrame) -> EncodedFrame:
    """A stored frame as the live path's EncodedFrame (a 1x1 grid when none was kept)."""
    rgb = decode_jpeg(row.thumb)
    patches = row.grid if row.grid is not None else row.embedding.reshape(1, 1, -1)
    size = row.frame_size if row.frame_size[0] > 0 else (int(rgb.shape[0]), int(rgb.shape[1]))
    return EncodedFrame(
        camera=row.camera,
        t=row.t,
        global_emb=np.asarray(row.embedding, dtype=np.float32),
        patches=np.asarray(patches, dtype=np.float32),
        thumb=rgb,
        frame_size=size,
    )


def encode_jpeg(rgb: ImageArray, quality: int = THUMB_QUALITY) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(
        out, format="JPEG", quality=quality, subsampling=0
    )
    return out.getvalue()


def decode_jpeg(data: bytes) -> ImageArray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)
