"""Test doubles shipped with the code: a deterministic colour "CLIP" encoder.

:class:`ColourEncoder` satisfies the encoder interface (``encode_frames``,
``encode_text``, ``grid``, ``dim``, ``model_id``) without torch: a frame's global
embedding is the normalised share of strongly red, green and blue pixels plus a
background axis; each patch gets the same from its own cell; a text is embedded on
the colour words it names. "a red circle" therefore scores high exactly on frames
(and cells) with red in them — enough to test wiring end to end honestly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.types import FloatArray, ImageArray

COLOURS = ("red", "green", "blue")
DIM = len(COLOURS) + 1  # + background


def _normalise(v: FloatArray) -> FloatArray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    out: FloatArray = (v / np.maximum(n, 1e-8)).astype(np.float32)
    return out


def colour_shares(rgb: ImageArray) -> FloatArray:
    """Share of strongly red, green, blue pixels, and of the rest (background)."""
    x = rgb.astype(np.int16)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    masks = [
        (r > 150) & (g < 100) & (b < 100),
        (g > 150) & (r < 100) & (b < 100),
        (b > 150) & (r < 100) & (g < 100),
    ]
    shares = [float(m.mean()) for m in masks]
    return np.array([*(s * 20 for s in shares), max(0.0, 1 - sum(shares))], np.float32)


class ColourEncoder:
    """A torch-free stand-in for ClipEncoder with a ``grid`` of patches."""

    model_id = "colour-encoder"

    def __init__(self, grid: tuple[int, int] = (4, 6)) -> None:
        self.grid = grid
        self.dim = DIM
        self.text_calls = 0
        self.frame_calls = 0

    def encode_frames(self, frames: Sequence[ImageArray]) -> tuple[FloatArray, FloatArray]:
        self.frame_calls += 1
        h, w = self.grid
        globals_ = np.stack([colour_shares(f) for f in frames])
        patches = np.stack([self._patches(f, h, w) for f in frames])
        return _normalise(globals_), _normalise(patches)

    def _patches(self, frame: ImageArray, h: int, w: int) -> FloatArray:
        rows = np.array_split(np.arange(frame.shape[0]), h)
        cols = np.array_split(np.arange(frame.shape[1]), w)
        return np.stack(
            [
                np.stack([colour_shares(frame[r[0] : r[-1] + 1, c[0] : c[-1] + 1]) for c in cols])
                for r in rows
            ]
        )

    def encode_text(self, texts: Sequence[str]) -> FloatArray:
        self.text_calls += 1
        out = np.zeros((len(texts), DIM), np.float32)
        for i, text in enumerate(texts):
            words = text.lower().split()
            hits = [j for j, c in enumerate(COLOURS) if c in words]
            for j in hits or [DIM - 1]:
                out[i, j] = 1.0
        return _normalise(out)
