"""Rendering a family-b frame: a pure function of (scene, t).

Order per frame: camera-shaken background crop, distractors, targets (so a distractor
never hides a target), the foreground occluder, lighting (gain and the cool night
tint) and sensor noise. Shake and noise come from a generator seeded with the scene's
seed and the frame's millisecond, so the same (scene, t) always gives the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from pipeline.familyb.paint import Float, backdrop_canvas, band, stamp
from pipeline.familyb.spec import Actor, FamilyBScene, Lighting, Occluder

Image = npt.NDArray[np.uint8]
INSIDE_AT_EDGE = 0.1  # share of an entering/leaving actor already/still in the frame
NIGHT_TINT = (-0.12, -0.04, 0.08)  # per-channel gain change at full night (cool)


def _lerp(p: tuple[float, float], q: tuple[float, float], u: float) -> tuple[float, float]:
    u = min(max(u, 0.0), 1.0)
    return (p[0] + (q[0] - p[0]) * u, p[1] + (q[1] - p[1]) * u)


def _outside(p: tuple[float, float], side: str, pw: float, ph: float, w: int, h: int) -> (
    tuple[float, float]
):
    """The centre beyond ``side`` at which only INSIDE_AT_EDGE of the actor shows."""
    k = 0.5 - INSIDE_AT_EDGE
    return {
        "left": (-k * pw, p[1]), "right": (w + k * pw, p[1]),
        "top": (p[0], -k * ph), "bottom": (p[0], h + k * ph),
    }[side]


def _along(points: list[tuple[float, float]], u: float) -> tuple[float, float]:
    if len(points) == 1:
        return points[0]
    pos = min(max(u, 0.0), 1.0) * (len(points) - 1)
    i = min(int(pos), len(points) - 2)
    return _lerp(points[i], points[i + 1], pos - i)


def actor_centre(a: Actor, t: float, w: int, h: int) -> tuple[float, float]:
    """Pixel centre of ``a`` at ``t``: slide in, wander the waypoints, slide out."""
    pw, ph = a.height * h * a.aspect, a.height * h
    points = [(x * w, y * h) for x, y in a.waypoints]
    start = a.t_on + (a.slide_s if a.enter else 0.0)
    end = a.t_off - (a.slide_s if a.leave else 0.0)
    if a.enter and t < start:
        return _lerp(_outside(points[0], a.enter, pw, ph, w, h), points[0],
                     (t - a.t_on) / a.slide_s)
    if a.leave and t >= end:
        return _lerp(points[-1], _outside(points[-1], a.leave, pw, ph, w, h),
                     (t - end) / a.slide_s)
    return _along(points, (t - start) / max(end - start, 1e-6))


def light(lit: Lighting, t: float, duration: float) -> tuple[float, float, float]:
    """Per-channel gain at ``t``: ramp × wobble × night, with the night's cool tint."""
    ramp = lit.start + (lit.end - lit.start) * t / max(duration, 1e-6)
    gain = ramp * (1.0 + lit.wobble * math.sin(2 * math.pi * t / lit.period))
    q = 0.0
    if lit.night < 1.0 and lit.dark > lit.dusk:
        u = min(max((t - lit.dusk) / (lit.dark - lit.dusk), 0.0), 1.0)
        q = u * u * (3 - 2 * u)
    gain *= 1.0 + (lit.night - 1.0) * q
    r, g, b = (gain * (1.0 + q * d) for d in NIGHT_TINT)
    return (r, g, b)


def _rng(scene: FamilyBScene, t: float, stream: int) -> np.random.Generator:
    return np.random.default_rng((scene.seed, round(t * 1000), stream))


def shake(scene: FamilyBScene, t: float) -> tuple[float, float]:
    """The camera's (dx, dy) pixel offset at ``t``."""
    if scene.shake_px <= 0:
        return (0.0, 0.0)
    dx, dy = _rng(scene, t, 1).uniform(-scene.shake_px, scene.shake_px, 2)
    return (float(dx), float(dy))


def _background(scene: FamilyBScene, dx: float, dy: float) -> Float:
    """The background shifted by (dx, dy) with bilinear sub-pixel interpolation."""
    w, h = scene.size
    m = math.ceil(scene.shake_px) + 1
    canvas = backdrop_canvas(scene.backdrop, h + 2 * m, w + 2 * m)
    sx, sy = m - dx, m - dy
    ix, iy = int(math.floor(sx)), int(math.floor(sy))
    fx, fy = np.float32(sx - ix), np.float32(sy - iy)

    def crop(oy: int, ox: int) -> Float:
        return canvas[iy + oy: iy + oy + h, ix + ox: ix + ox + w]

    one = np.float32(1.0)
    top = crop(0, 0) * (one - fx) + crop(0, 1) * fx
    bottom = crop(1, 0) * (one - fx) + crop(1, 1) * fx
    out: Float = (top * (one - fy) + bottom * fy).astype(np.float32, copy=False)
    return out


def _occluder_middle(o: Occluder, t: float, length: int) -> float:
    return (o.centre + o.swing * math.sin(2 * math.pi * t / o.period)) * length


def render_frame(scene: FamilyBScene, t: float) -> Image:
    """The RGB frame (h × w × 3 uint8) of ``scene`` at ``t`` seconds."""
    w, h = scene.size
    dx, dy = shake(scene, t)
    img = _background(scene, dx, dy)
    for a in sorted(scene.actors, key=lambda a: a.target):
        if a.visible(t):
            cx, cy = actor_centre(a, t, w, h)
            half = (a.height * h * a.aspect / 2, a.height * h / 2)
            stamp(img, a.shape, (cx + dx, cy + dy), half, a.tilt, a.rgb)
    if (o := scene.occluder) is not None:
        mid = _occluder_middle(o, t, w if o.vertical else h) + (dx if o.vertical else dy)
        band(img, o.vertical, mid, o.thickness, o.rgb)
    img *= np.asarray(light(scene.lighting, t, scene.duration), dtype=np.float32)
    if scene.noise > 0:
        img += _rng(scene, t, 2).standard_normal(img.shape, dtype=np.float32) * np.float32(
            scene.noise
        )
    out: Image = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out


def iter_frames(scene: FamilyBScene, fps: float) -> Iterator[tuple[float, Image]]:
    """(t, rgb) for every frame of the scene at ``fps``, rendered one at a time."""
    for t in scene.frame_times(fps):
        yield t, render_frame(scene, t)
