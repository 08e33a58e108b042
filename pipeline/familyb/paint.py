"""Rasterising family b: procedural textures and anti-aliased shapes, numpy only.

Shapes are drawn with analytic coverage: each pixel centre's signed distance to the
shape's outline (in pixels) gives its coverage ``clip(0.5 - d, 0, 1)``, so edges are
smooth at any size and sub-pixel positions move objects smoothly under camera shake.
Textures are functions of pixel position built from seeded value noise (a lattice of
random values, smoothstep-interpolated, summed over octaves for fBm).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from pipeline.familyb.spec import RGB, Backdrop

Float = npt.NDArray[np.float32]


def _smooth(f: Float) -> Float:
    return f * f * (3.0 - 2.0 * f)


def value_noise(rng: np.random.Generator, h: int, w: int, cell_y: float, cell_x: float) -> Float:
    """Smooth noise in [0, 1] with features about ``cell_y`` × ``cell_x`` pixels."""
    grid = rng.random((int(h / cell_y) + 2, int(w / cell_x) + 2), dtype=np.float32)
    y = np.arange(h, dtype=np.float32) / np.float32(cell_y)
    x = np.arange(w, dtype=np.float32) / np.float32(cell_x)
    y0, x0 = y.astype(np.intp), x.astype(np.intp)
    fy, fx = _smooth(y - y0)[:, None], _smooth(x - x0)[None, :]
    a, b = grid[np.ix_(y0, x0)], grid[np.ix_(y0, x0 + 1)]
    c, d = grid[np.ix_(y0 + 1, x0)], grid[np.ix_(y0 + 1, x0 + 1)]
    top, bottom = a + (b - a) * fx, c + (d - c) * fx
    out: Float = top + (bottom - top) * fy
    return out


def fbm(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 5) -> Float:
    """Fractal sum of value noise, normalised to [0, 1]."""
    total = np.zeros((h, w), dtype=np.float32)
    weight = 0.0
    for k in range(octaves):
        size = max(cell / 2**k, 1.5)
        total += np.float32(0.5**k) * value_noise(rng, h, w, size, size)
        weight += 0.5**k
    out: Float = total / np.float32(weight)
    return out


def _axis(h: int, w: int, angle: float) -> Float:
    """Pixel position projected on the direction ``angle`` (degrees)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = math.radians(angle)
    out: Float = x * np.float32(math.cos(a)) + y * np.float32(math.sin(a))
    return out


def _mix_stripes(rng: np.random.Generator, h: int, w: int, bd: Backdrop, px: float) -> Float:
    wave = 0.5 + 0.5 * np.sin(_axis(h, w, bd.angle) * np.float32(2 * math.pi / px))
    soft = np.clip((wave - 0.5) * 3.0 + 0.5, 0.0, 1.0)
    out: Float = 0.8 * soft + 0.2 * fbm(rng, h, w, px * 2)
    return out


def _mix_tiles(rng: np.random.Generator, h: int, w: int, bd: Backdrop, px: float) -> Float:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    offset = (np.floor(y / px) % 2) * (px / 2)
    tx, ty = (x + offset) / px, y / px
    shade = rng.random((int(h / px) + 2, int(w / px) + 3), dtype=np.float32)
    tile = shade[ty.astype(np.intp), tx.astype(np.intp)]
    gap = np.minimum(np.minimum(tx % 1, 1 - tx % 1), np.minimum(ty % 1, 1 - ty % 1)) * px
    grout = np.clip(gap - 1.0, 0.0, 1.0)
    out: Float = (0.15 + 0.7 * tile) * grout + 0.1 * fbm(rng, h, w, px)
    return out


def _mix_grass(rng: np.random.Generator, h: int, w: int, bd: Backdrop, px: float) -> Float:
    blades = value_noise(rng, h, w, px * 1.2, px / 7)
    patches = fbm(rng, h, w, px * 6, 3)
    out: Float = 0.55 * blades + 0.45 * patches
    return out


def _mix_gradient(rng: np.random.Generator, h: int, w: int, bd: Backdrop, px: float) -> Float:
    ramp = _axis(h, w, bd.angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1.0)
    out: Float = 0.85 * ramp + 0.15 * fbm(rng, h, w, px)
    return out


def _mix_fbm(rng: np.random.Generator, h: int, w: int, bd: Backdrop, px: float) -> Float:
    return fbm(rng, h, w, px * 3)


_MIXERS = {
    "fbm": _mix_fbm, "stripes": _mix_stripes, "tiles": _mix_tiles,
    "grass": _mix_grass, "gradient": _mix_gradient,
}


@lru_cache(maxsize=4)
def backdrop_canvas(bd: Backdrop, h: int, w: int) -> Float:
    """The background, ``h`` × ``w`` × 3 float32 (0–255); cached, treat as read-only."""
    rng = np.random.default_rng(bd.seed)
    px = max(bd.scale * h / 720.0, 3.0)
    mix = _MIXERS[bd.kind](rng, h, w, bd, px)[..., None]
    c0, c1 = (np.asarray(c, dtype=np.float32) for c in bd.colours)
    out: Float = c0 + (c1 - c0) * mix
    out.flags.writeable = False
    return out


def _sdf(shape: str, u: Float, v: Float, a: float, b: float) -> Float:
    """Signed distance (px, negative inside) to a shape of half-extents ``a`` × ``b``."""
    if shape == "square":
        out: Float = np.maximum(np.abs(u) - a, np.abs(v) - b)
        return out
    if shape == "triangle":  # apex up; v grows downwards
        n = math.hypot(2 * b, a)
        side = (2 * b * np.abs(u) - a * (v + b)) / np.float32(n)
        out = np.maximum(side, v - b)
        return out
    k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    grad = np.sqrt((u / a**2) ** 2 + (v / b**2) ** 2) / np.maximum(k, 1e-6)
    out = ((k - 1.0) / np.maximum(grad, 1e-6)).astype(np.float32, copy=False)
    return out


def stamp(
    canvas: Float, shape: str, centre: tuple[float, float], half: tuple[float, float],
    tilt: float, rgb: RGB,
) -> None:
    """Paint an anti-aliased shape into ``canvas`` (in place), clipped to the frame."""
    h, w = canvas.shape[:2]
    (cx, cy), (a, b) = centre, half
    r = math.hypot(a, b) + 2.0
    x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, w)
    y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    y = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - cy)
    x = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - cx)
    c, s = np.float32(math.cos(math.radians(tilt))), np.float32(math.sin(math.radians(tilt)))
    u, v = x * c + y * s, y * c - x * s
    alpha = np.clip(0.5 - _sdf(shape, u, v, a, b), 0.0, 1.0)[..., None]
    patch = canvas[y0:y1, x0:x1]
    patch += (np.asarray(rgb, dtype=np.float32) - patch) * alpha


def band(canvas: Float, vertical: bool, middle: float, thickness: float, rgb: RGB) -> None:
    """Paint a full-length anti-aliased post (vertical) or bar, shaded like a cylinder."""
    half = thickness / 2
    n = canvas.shape[1] if vertical else canvas.shape[0]
    lo, hi = max(int(middle - half) - 1, 0), min(int(middle + half) + 2, n)
    if lo >= hi:
        return
    pos = np.arange(lo, hi, dtype=np.float32) + np.float32(0.5 - middle)
    alpha = np.clip(half + 0.5 - np.abs(pos), 0.0, 1.0)
    shade = 0.7 + 0.3 * np.cos(np.clip(pos / max(half, 0.5), -1.0, 1.0) * np.float32(1.3))
    colour = np.asarray(rgb, dtype=np.float32) * shade[:, None]
    if vertical:
        part = canvas[:, lo:hi]
        part += (colour[None] - part) * alpha[None, :, None]
    else:
        part = canvas[lo:hi]
        part += (colour[:, None] - part) * alpha[:, None, None]
