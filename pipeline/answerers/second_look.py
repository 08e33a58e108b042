"""A closer look at a frame for the adaptive ``clip`` answerer.

A small object fills only a few patches of the frame the image encoder saw, so on the
frame's global embedding a look-alike of the asked object (same colour, another shape)
scores about as high as the object itself: CLIP binds a colour to a shape badly when
several things share the picture. A closer look crops the frame around the patch that
matches the question best (``span`` patch cells wide and high, moved inside the frame
near its edges) and encodes that crop again: the encoder now sees the object several
times larger and mostly alone. The adaptive mode asks its zero-shot question (does the
question beat its one-word alternatives?) of that crop; with ``second_look`` a frame's
score is also the mean of its global cosine and the crop's cosine.

The crop is cut from the frame **as the frame index keeps it** (the thumbnail shrunk to
:data:`~pipeline.evidence.STORED_THUMB_SIDE`, the patch grid pooled to
:data:`~pipeline.evidence.STORED_GRID_MAX` cells a side): a question backfilled
over stored frames looks at the same pixels as it would have live.

Each (camera, frame time, question) is looked at once: windows overlap, so the same
frame is asked about again and again; the crop embeddings are kept in a bounded cache.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.answerers.base import ImageEncoder
from pipeline.evidence import STORED_GRID_MAX, STORED_THUMB_SIDE, pool_grid, thumbnail
from pipeline.types import EncodedFrame, FloatArray, ImageArray


def crop_around_best_patch(frame: EncodedFrame, query_emb: FloatArray, span: float) -> ImageArray:
    """The frame, as the index keeps it, cropped to ``span`` × ``span`` patch cells
    centred on the question's best patch; near an edge the box is moved inside the frame
    rather than cut, so an object entering the view keeps its shape when the crop is
    resized."""
    grid = pool_grid(frame.patches, STORED_GRID_MAX)
    gh, gw = grid.shape[:2]
    best = int(np.argmax(grid.reshape(gh * gw, -1) @ query_emb))
    row, col = divmod(best, gw)
    thumb = thumbnail(frame.thumb, STORED_THUMB_SIDE)
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
        return self.looks([(f, question, query_emb) for f in frames])

    def looks(self, wanted: Sequence[tuple[EncodedFrame, str, FloatArray]]) -> list[FloatArray]:
        """The crop embedding of each (frame, question, question embedding): those not
        cached are encoded together, in one encoder call."""
        keys = [(f.camera, float(f.t), question) for f, question, _ in wanted]
        todo: list[int] = []
        asked: set[tuple[str, float, str]] = set()
        for i, k in enumerate(keys):  # a look asked twice is encoded once
            if k not in self._cache and k not in asked:
                asked.add(k)
                todo.append(i)
        if todo:
            crops = [crop_around_best_patch(wanted[i][0], np.asarray(wanted[i][2], np.float32),
                                            self.span) for i in todo]
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
