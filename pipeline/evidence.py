"""Evidence images: a small JPEG per selected frame with its RoI box drawn.

Made from the frame's buffered thumbnail (no second decode). The box is drawn in
the frame's coordinates (the CLIP grid maps proportionally onto the whole frame) and
also returned normalised (x0, y0, x1, y1), so a dashboard can redraw it. Evidence
travels inside the answer message (base64) and is stored in the ``evidence`` table,
one row per selected frame, keyed by the answer's (query id, camera, window end) and
the frame's index.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from pipeline.types import EncodedFrame, Evidence, ImageArray, RoI

BOX_COLOUR = (255, 200, 0)


def thumbnail(rgb: ImageArray, max_side: int) -> ImageArray:
    """``rgb`` shrunk (never enlarged) so that its longer side is ``max_side``."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).resize(
        size, Image.Resampling.BILINEAR
    )
    return np.asarray(img, dtype=np.uint8)


def render(frame: EncodedFrame, roi: RoI, max_side: int = 192, quality: int = 75) -> Evidence:
    """The evidence JPEG of one selected frame with ``roi`` drawn on it."""
    img = Image.fromarray(thumbnail(frame.thumb, max_side))
    x0, y0, x1, y1 = roi.to_pixels(img.height, img.width)
    width = max(1, round(max(img.size) / 96))
    ImageDraw.Draw(img).rectangle((x0, y0, x1 - 1, y1 - 1), outline=BOX_COLOUR, width=width)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return Evidence(t=frame.t, jpeg=out.getvalue(), box=roi.normalized())
