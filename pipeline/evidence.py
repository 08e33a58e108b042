"""Thumbnails, and evidence images: a small JPEG per selected frame with its RoI box drawn.

Every encoded frame keeps a thumbnail (longer side :data:`THUMB_SIDE`) for evidence, VLM
input and the frame index. The decoder makes it beside the RGB frame, scaled from the
codec's picture in one C call (:attr:`pipeline.types.Frame.thumb`); a frame without one
(or with one of another size) is shrunk here. Evidence is made from the frame's buffered
thumbnail (no second decode). The box is drawn in
the frame's coordinates (the CLIP grid maps proportionally onto the whole frame) and
also returned normalised (x0, y0, x1, y1), so a dashboard can redraw it. Evidence
travels inside the answer message (base64) and is stored in the ``evidence`` table,
one row per selected frame, keyed by the answer's (query id, camera, window end) and
the frame's index.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

from pipeline.types import EncodedFrame, Evidence, FloatArray, Frame, ImageArray, RoI

BOX_COLOUR = (255, 200, 0)
THUMB_SIDE = 336
"""Longer side of the thumbnail every encoded frame keeps (LLaVA's input side)."""


STORED_THUMB_SIDE = 160
"""Longer side of the thumbnail the frame index keeps per frame (the default)."""
STORED_GRID_MAX = 8
"""The index keeps a frame's patch grid pooled to at most this many cells a side."""


def thumb_size(height: int, width: int, max_side: int) -> tuple[int, int] | None:
    """(width, height) of the thumbnail of a ``height`` × ``width`` frame; None when the
    frame is no larger than ``max_side`` (it is kept as it is, never enlarged)."""
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail(rgb: ImageArray, max_side: int) -> ImageArray:
    """``rgb`` shrunk (never enlarged) so that its longer side is ``max_side``."""
    size = thumb_size(rgb.shape[0], rgb.shape[1], max_side)
    if size is None:
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    return np.asarray(_shrunk(rgb, max_side, Image.Resampling.BILINEAR), dtype=np.uint8)


def _shrunk(rgb: ImageArray, max_side: int, resample: Image.Resampling) -> Image.Image:
    """``rgb`` as an image, shrunk (never enlarged) to a longer side of ``max_side``."""
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    size = thumb_size(img.height, img.width, max_side)
    return img if size is None else img.resize(size, resample)


def frame_thumbnail(frame: Frame, max_side: int = THUMB_SIDE) -> ImageArray:
    """The thumbnail of ``frame``: the decoder's own when it has the size
    :func:`thumbnail` gives, else ``frame.rgb`` shrunk."""
    own, size = frame.thumb, thumb_size(frame.rgb.shape[0], frame.rgb.shape[1], max_side)
    if own is not None and size is not None and own.shape[:2] == (size[1], size[0]):
        return own
    return thumbnail(frame.rgb, max_side)


def render(frame: EncodedFrame, roi: RoI, max_side: int = 192, quality: int = 75) -> Evidence:
    """The evidence JPEG of one selected frame with ``roi`` drawn on it. The thumbnail is
    shrunk by area averaging (``BOX``: from the 336-px thumbnail it differs from bilinear
    by ~0.5 grey level on average, up to ~10 at sharp edges, and costs two thirds of it)."""
    img = _shrunk(frame.thumb, max_side, Image.Resampling.BOX)
    x0, y0, x1, y1 = roi.to_pixels(img.height, img.width)
    width = max(1, round(max(img.size) / 96))
    ImageDraw.Draw(img).rectangle((x0, y0, x1 - 1, y1 - 1), outline=BOX_COLOUR, width=width)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return Evidence(t=frame.t, jpeg=out.getvalue(), box=roi.normalized())


def pool_grid(patches: FloatArray, grid_max: int) -> FloatArray:
    """Average-pool an (h, w, D) grid to at most ``grid_max`` cells a side (kept when smaller)."""
    p = np.asarray(patches, dtype=np.float32)
    h, w = p.shape[:2]
    out_h, out_w = min(h, grid_max), min(w, grid_max)
    if (out_h, out_w) == (h, w):
        return p
    rows = _bins(h, out_h)
    cols = _bins(w, out_w)
    pooled = np.stack(
        [np.stack([p[r0:r1, c0:c1].mean(axis=(0, 1)) for c0, c1 in cols]) for r0, r1 in rows]
    )
    return np.asarray(pooled, dtype=np.float32)


def _bins(n: int, k: int) -> list[tuple[int, int]]:
    return [(math.floor(i * n / k), max(math.floor(i * n / k) + 1, math.floor((i + 1) * n / k)))
            for i in range(k)]
