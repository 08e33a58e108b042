"""A closer second look for the adaptive ``clip`` answerer.

A small object fills only a few patches of the frame the image encoder saw, so a
look-alike of the asked object (same colour, another shape) scores about as high as
the object itself. The second look crops the frame's thumbnail around the patch that
matches the question best (``span`` patch cells wide and high, moved inside the frame
near its edges) and encodes that crop again: the encoder now sees the object several
times larger. A frame's score is the mean of its global cosine and the crop's cosine.

Each (camera, frame time, question) is looked at once: windows overlap, so the same
frame is scored again and again; the crop embeddings are kept in a bounded cache (the
adaptive mode also asks its zero-shot question of the crop). The
crops of a window's new frames go to the encoder in one batch.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.answerers.base import ImageEncoder
from pipeline.types import EncodedFrame, FloatArray, ImageArray


def crop_around_best_patch(frame: EncodedFrame, query_emb: FloatArray, span: float) -> ImageArray:
    """The frame's thumbnail cropped to ``span`` × ``span`` patch cells centred on the
    question's best patch; near an edge the box is moved inside the frame rather than
    cut, so an object entering the view keeps its shape when the crop is resized."""
    grid = np.asarray(frame.patches, dtype=np.float32)
    gh, gw = grid.shape[:2]
    best = int(np.argmax(grid.reshape(gh * gw, -1) @ query_emb))
    row, col = divmod(best, gw)
    thumb = frame.thumb
    h, w = thumb.shape[:2]
    box_h, box_w = min(h, span * h / gh), min(w, span * w / gw)
    y0 = _inside((row + 0.5) * h / gh - box_h / 2, h - box_h)
    x0 = _inside((col + 0.5) * w / gw - box_w / 2, w - box_w)
    y1, x1 = min(h, y0 + math.ceil(box_h)), min(w, x0 + math.ceil(box_w))
    return np.ascontiguousarray(thumb[y0:y1, x0:x1])


def _inside(start: float, last: float) -> int:
    """A box's first pixel, moved into [0, last]."""
    return round(min(max(0.0, start), last))


@dataclass
class SecondLook:
    """Crop cosines of frames, each (camera, time, question) encoded once."""

    encoder: ImageEncoder
    span: float = 3.0
    max_cached: int = 8192
    crops_encoded: int = 0
    _cache: OrderedDict[tuple[str, float, str], FloatArray] = field(default_factory=OrderedDict)

    def scores(self, frames: Sequence[EncodedFrame], question: str,
               query_emb: FloatArray) -> list[float]:
        """The crop cosine of each frame with the question (cached per frame)."""
        q = np.asarray(query_emb, dtype=np.float32)
        return [float(e @ q) for e in self.embeddings(frames, question, q)]

    def embeddings(self, frames: Sequence[EncodedFrame], question: str,
                   query_emb: FloatArray) -> list[FloatArray]:
        """Each frame's crop embedding for this question (encoded once, then cached)."""
        q = np.asarray(query_emb, dtype=np.float32)
        keys = [(f.camera, float(f.t), question) for f in frames]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            crops = [crop_around_best_patch(frames[i], q, self.span) for i in todo]
            embs, _ = self.encoder.encode_frames(crops)
            self.crops_encoded += len(todo)
            for i, emb in zip(todo, np.asarray(embs, dtype=np.float32), strict=True):
                self._cache[keys[i]] = emb
        out = []
        for k in keys:
            self._cache.move_to_end(k)
            out.append(self._cache[k])
        while len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        return out


def second_look_for(encoder: Any, span: float | None) -> SecondLook | None:
    """A second look through ``encoder``'s image side; None when off (span None or 0)
    or when the encoder has no image side (a text-only test double)."""
    if not span or not callable(getattr(encoder, "encode_frames", None)):
        return None
    return SecondLook(encoder, span)
