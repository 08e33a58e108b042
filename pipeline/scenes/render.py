"""Pure-numpy rendering of a :class:`SceneSpec` at a time ``t``.

``out_size`` renders the same scene geometry at another resolution, stretched
anisotropically: that is exactly what a squash resize of the full frame shows, and it
is how the training script makes 96×96 encoder inputs quickly.

Background choices (documented decision): backgrounds are muted (low saturation).
Clutter is a set of rectangles that may share a HUE with the palette (a palette colour
blended half-and-half with the background) but are always elongated bars (aspect
≥ 3:1) — never a square, circle or triangle of a full palette colour — so clutter can
never be mistaken for a target object, yet a colour-only detector is confused by it.

Draw order: earlier objects in ``spec.objects`` are drawn on top of later ones, so a
scripted target (always first) is never hidden by a distractor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from pipeline.scenes.spec import COLORS, Background, SceneObject, SceneSpec
from pipeline.types import ImageArray

LabelArray = npt.NDArray[np.int16]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ObjectTruth:
    """A visible object in one frame: pixel box (x0, y0, x1, y1), exclusive ends,
    clipped to the frame; ``centre`` (x, y) in pixels; ``index`` into spec.objects."""

    color: str
    shape: str
    box: Box
    centre: tuple[float, float]
    index: int = -1


def render(
    spec: SceneSpec, t: float, *, out_size: tuple[int, int] | None = None
) -> tuple[ImageArray, list[ObjectTruth]]:
    """The RGB frame (H×W×3 uint8) at time ``t`` and the visible objects' truth."""
    rgb, _, truth = render_labels(spec, t, out_size=out_size)
    return rgb, truth


def render_labels(
    spec: SceneSpec, t: float, *, out_size: tuple[int, int] | None = None
) -> tuple[ImageArray, LabelArray, list[ObjectTruth]]:
    """Like :func:`render`, plus a label map: object index per pixel, −1 for background."""
    w, h = out_size or (spec.width, spec.height)
    rgb = background_image(spec.background, spec.width, spec.height, w, h).copy()
    labels = np.full((h, w), -1, dtype=np.int16)
    truth: list[ObjectTruth] = []
    for index in reversed(range(len(spec.objects))):
        obj = spec.objects[index]
        if obj.visible(t):
            truth.append(_draw(rgb, labels, obj, index, t, spec.width / spec.height))
    truth.reverse()
    return rgb, labels, truth


def _geometry(
    obj: SceneObject, t: float, aspect: float, w: int, h: int
) -> tuple[float, float, float, float]:
    """Centre and half-extents in output pixels (cx, cy, hx, hy)."""
    x, y = obj.centre_at(t)
    hy = obj.size * h / 2
    hx = obj.size * obj.stretch / aspect * w / 2
    return x * w, y * h, hx, hy


def _draw(
    rgb: ImageArray, labels: LabelArray, obj: SceneObject, index: int, t: float, aspect: float
) -> ObjectTruth:
    h, w = labels.shape
    cx, cy, hx, hy = _geometry(obj, t, aspect, w, h)
    turn = math.radians(obj.tilt)
    cos, sin = math.cos(turn), math.sin(turn)
    ex, ey = abs(hx * cos) + abs(hy * sin), abs(hx * sin) + abs(hy * cos)
    box = _clip_box(cx - ex, cy - ey, cx + ex, cy + ey, w, h)
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        xs = np.arange(x0, x1, dtype=np.float32) + 0.5 - cx
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
        if obj.tilt:  # offsets in the shape's own (untilted) frame
            xs, ys = xs * cos + ys * sin, ys * cos - xs * sin
        mask = _shape_mask(obj.shape, xs, ys, hx, hy)
        rgb[y0:y1, x0:x1][mask] = COLORS[obj.color]
        labels[y0:y1, x0:x1][mask] = index
    return ObjectTruth(obj.color, obj.shape, box, (cx, cy), index)


def _clip_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> Box:
    return (
        max(0, math.floor(x0)), max(0, math.floor(y0)),
        min(w, math.ceil(x1)), min(h, math.ceil(y1)),
    )


def _shape_mask(
    shape: str, dx: npt.NDArray[np.float32], dy: npt.NDArray[np.float32], hx: float, hy: float
) -> npt.NDArray[np.bool_]:
    """Pixels inside a centred shape, given offsets from its centre."""
    hx, hy = max(hx, 0.5), max(hy, 0.5)
    if shape == "circle":
        return np.asarray((dx / hx) ** 2 + (dy / hy) ** 2 <= 1.0)
    if shape == "square":
        return np.asarray((np.abs(dx) <= hx) & (np.abs(dy) <= hy))
    depth = (dy + hy) / (2 * hy)  # 0 at the apex (top), 1 at the base
    return np.asarray((depth >= 0) & (depth <= 1) & (np.abs(dx) <= hx * depth))


@lru_cache(maxsize=64)
def background_image(bg: Background, width: int, height: int, w: int, h: int) -> ImageArray:
    """The static background of a ``width``×``height`` scene rendered at w×h (read-only)."""
    if bg.kind == "gradient":
        img = _gradient(bg, w, h)
    elif bg.kind == "noise":
        img = _noise(bg, width, height, w, h)
    elif bg.kind == "clutter":
        img = _clutter(bg, width, height, w, h)
    else:
        img = np.empty((h, w, 3), dtype=np.uint8)
        img[:] = bg.colors[0]
    img.setflags(write=False)
    return img


def _gradient(bg: Background, w: int, h: int) -> ImageArray:
    a = math.radians(bg.angle)
    xs = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
    ys = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h - 0.5
    u = np.clip((xs * math.cos(a) + ys * math.sin(a)) / 1.42 + 0.5, 0.0, 1.0)[..., None]
    c0 = np.array(bg.colors[0], dtype=np.float32)
    c1 = np.array(bg.colors[-1], dtype=np.float32)
    return np.asarray(c0 * (1 - u) + c1 * u).astype(np.uint8)


def _noise(bg: Background, width: int, height: int, w: int, h: int) -> ImageArray:
    """Coarse blotches (fixed in scene coordinates) plus fine grain (per output pixel).

    The grain is weaker at lower output resolutions, as an area resize would make it.
    """
    rng = np.random.default_rng(bg.seed)
    cells = rng.normal(0.0, 28.0, size=(24, max(2, round(24 * width / height)), 3))
    rows = np.minimum((np.arange(h) * cells.shape[0]) // h, cells.shape[0] - 1)
    cols = np.minimum((np.arange(w) * cells.shape[1]) // w, cells.shape[1] - 1)
    coarse = cells[rows][:, cols]
    grain_sd = 14.0 * min(1.0, math.sqrt(w * h / (width * height)))
    grain = rng.normal(0.0, grain_sd, size=(h, w, 1))
    img = np.array(bg.colors[0], dtype=np.float64) + coarse + grain
    return np.asarray(np.clip(img, 0, 255)).astype(np.uint8)


def _clutter(bg: Background, width: int, height: int, w: int, h: int) -> ImageArray:
    """Gradient base with 6–14 elongated bars (see the module docstring)."""
    img = _gradient(bg, w, h)
    rng = random.Random(bg.seed)
    base = np.array(bg.colors[0], dtype=np.float32)
    palette = list(COLORS.values())
    for _ in range(rng.randint(6, 14)):
        long_side = rng.uniform(0.15, 0.6) * height
        short_side = rng.uniform(0.02, long_side / 3 / height) * height
        bw, bh = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
        x0, y0 = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        if rng.random() < 0.5:
            color = (np.array(rng.choice(palette), dtype=np.float32) + base) / 2
        else:
            color = np.array([rng.randint(20, 200)] * 3, dtype=np.float32)
        sx, sy = w / width, h / height
        box = _clip_box(x0 * sx, y0 * sy, (x0 + bw) * sx, (y0 + bh) * sy, w, h)
        img[box[1]:box[3], box[0]:box[2]] = color.astype(np.uint8)
    return img
