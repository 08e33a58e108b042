"""The ``frames`` contract: every encoded frame, from perception workers to the sink.

key = camera id; value = JSON of :class:`FrameMessage` (embedding and patch grid as
base64 float16 little-endian, thumbnail as base64 JPEG); header ``schema``. The sink
writes them to the frame index in batches (``connectors.store.frames``).
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
from pydantic import Field, model_validator

from connectors.bus.messages import Message, from_json, key_text, schema_header, to_json
from connectors.bus.wire import SCHEMA_VERSION, CameraId, Finite, Text, Versioned
from pipeline.errors import MessageError
from pipeline.history.records import IndexedFrame


class FrameMessage(Versioned):
    """The value of a ``frames`` record (key = camera id)."""

    camera: CameraId
    t: Finite = Field(ge=-1e11, le=1e11,
                      description="Stream time of the frame (UTC epoch s; file: s from start).")
    model_id: Text = Field(description="The CLIP model that encoded the frame.")
    embedding: str = Field(description="Global embedding, base64 float16 little-endian.")
    thumb: str = Field(description="Thumbnail, base64 JPEG.")
    grid: str | None = Field(default=None, description="Pooled patch grid, base64 float16.")
    grid_h: int = Field(default=0, ge=0, le=64)
    grid_w: int = Field(default=0, ge=0, le=64)
    frame_h: int = Field(default=0, ge=0)
    frame_w: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _sizes(self) -> FrameMessage:
        dim = len(_b64(self.embedding, "embedding")) // 2
        if dim < 1:
            raise ValueError("embedding: empty")
        if self.grid is not None:
            cells = len(_b64(self.grid, "grid")) // 2
            if cells != self.grid_h * self.grid_w * dim:
                raise ValueError(f"grid: {cells} values for {self.grid_h}x{self.grid_w}x{dim}")
        return self

    @classmethod
    def of_frame(cls, f: IndexedFrame) -> FrameMessage:
        grid = f.grid
        return cls(
            schema=SCHEMA_VERSION, camera=f.camera, t=f.t, model_id=f.model_id,
            embedding=_enc(np.asarray(f.embedding, "<f2").tobytes()),
            thumb=_enc(f.thumb),
            grid=None if grid is None else _enc(np.asarray(grid, "<f2").tobytes()),
            grid_h=0 if grid is None else int(grid.shape[0]),
            grid_w=0 if grid is None else int(grid.shape[1]),
            frame_h=int(f.frame_size[0]), frame_w=int(f.frame_size[1]),
        )

    def to_frame(self) -> IndexedFrame:
        emb = np.frombuffer(_b64(self.embedding, "embedding"), "<f2").astype(np.float32)
        grid = None
        if self.grid is not None:
            raw = np.frombuffer(_b64(self.grid, "grid"), "<f2").astype(np.float32)
            grid = raw.reshape(self.grid_h, self.grid_w, -1)
        return IndexedFrame(self.camera, self.t, self.model_id, emb, _b64(self.thumb, "thumb"),
                            grid, (self.frame_h, self.frame_w))


def _enc(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{name}: not base64") from exc


def encode_frame(frame: IndexedFrame) -> Message:
    """A frame for the ``frames`` topic, keyed by camera id."""
    return Message(frame.camera.encode(), to_json(FrameMessage.of_frame(frame)), [schema_header()])


def decode_frame(
    key: bytes | None, value: bytes | None, headers: object = None
) -> IndexedFrame:
    """The frame a message carries; :class:`MessageError` if anything is off."""
    camera = key_text(key, "frame")
    body = from_json(FrameMessage, value, "frame")
    if body.camera != camera:
        raise MessageError(f"frame: key {camera!r} is not the body's camera {body.camera!r}")
    return body.to_frame()
