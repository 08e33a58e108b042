"""Encodings of embeddings and patch grids for the frame index."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def f16_bytes(values: npt.ArrayLike) -> bytes:
    """Float16 little-endian bytes (the blob form of an embedding or grid)."""
    return np.asarray(values, dtype="<f2").tobytes()


def from_f16(data: bytes, shape: tuple[int, ...] | None = None) -> F32:
    arr = np.frombuffer(bytes(data), dtype="<f2").astype(np.float32)
    return arr.reshape(shape) if shape is not None else arr


def halfvec_literal(values: Any) -> str:
    """pgvector's text form ``[v1,v2,...]`` (float16 precision is what halfvec keeps)."""
    arr = np.asarray(values, dtype=np.float32).ravel()
    return "[" + ",".join(f"{v:.5g}" for v in arr.tolist()) + "]"


def parse_halfvec(text: str) -> F32:
    body = text.strip()[1:-1]
    return np.array(body.split(","), dtype=np.float32) if body else np.zeros(0, np.float32)


def as_array(value: Any) -> F32:
    """An embedding as read from either column type (float16 blob or halfvec), as float32."""
    if isinstance(value, bytes | memoryview):
        return from_f16(bytes(value))
    return np.asarray(value, dtype=np.float32)
