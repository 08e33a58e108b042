"""A decoded picture as the pipeline takes it: upright RGB and its thumbnail.

Both come from libswscale through reformatters kept per thread: a fresh frame's own
reformatter would set up a new scaling context (filters, slice threads) for every
frame, which costs more than the conversion. The RGB is the one
``VideoFrame.to_ndarray(format="rgb24")`` gives, bit for bit. The thumbnail every encoded
frame keeps (evidence, VLM input, the frame index) is scaled from the codec's picture
in the same C library instead of resampling the full RGB frame again in Python; its
size is :func:`pipeline.evidence.thumb_size` of the upright frame, so the engine takes
it as it is.
"""

from __future__ import annotations

import threading

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from pipeline.evidence import THUMB_SIDE, thumb_size
from pipeline.types import ImageArray

_local = threading.local()


def upright_pictures(frame: av.VideoFrame, rotation: int = 0,
                     thumb_side: int = THUMB_SIDE) -> tuple[ImageArray, ImageArray | None]:
    """(RGB, thumbnail) of ``frame`` turned ``rotation`` degrees counterclockwise; the
    thumbnail is None when the frame is no larger than ``thumb_side``."""
    rgb_of, thumb_of = _reformatters()
    rgb = rgb_of.reformat(frame, format="rgb24").to_ndarray()
    size = thumb_size(frame.height, frame.width, thumb_side)  # a quarter turn swaps both
    thumb = None if size is None else thumb_of.reformat(
        frame, width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR"
    ).to_ndarray()
    if rotation:  # shown upright, as the source's display matrix says
        rgb = turned(rgb, rotation)
        thumb = None if thumb is None else turned(thumb, rotation)
    return rgb, thumb


def turned(image: ImageArray, rotation: int) -> ImageArray:
    """``image`` turned ``rotation`` degrees (a multiple of 90) counterclockwise."""
    if not rotation:
        return image
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90))


def display_degrees(frame: av.VideoFrame) -> int:
    """Degrees (0/90/180/270) to turn ``frame`` counterclockwise upright, from the display
    matrix its decoder attached to it (0 if none)."""
    return (round(float(frame.rotation or 0) / 90) * 90) % 360


def _reformatters() -> tuple[VideoReformatter, VideoReformatter]:
    """This thread's two (full-size RGB, thumbnail): each keeps its context while the
    frames keep their size, which alternating between the two sizes would not."""
    pair: tuple[VideoReformatter, VideoReformatter] | None = getattr(_local, "pair", None)
    if pair is None:
        pair = _local.pair = (VideoReformatter(), VideoReformatter())
    return pair
