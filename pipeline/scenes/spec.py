"""Scene descriptions: frozen value objects and the seeded scene builders.

A scene is a fixed-size video of coloured shapes (the 7×3 colour–shape vocabulary)
moving over a background. Everything is decided up front from a seed, so
``render(spec, t)`` is a pure function of the spec and the time.

Coordinates in a spec are normalised: a centre ``(x, y)`` is a fraction of the frame
width and height; an object's ``size`` is a fraction of the frame HEIGHT (the shape is
``size·H`` pixels tall and as many pixels wide). An object is visible for
``t_in <= t < t_out`` (half-open, so back-to-back intervals never overlap); its centre
moves linearly between the ``path`` waypoints spread evenly over that interval and
always stays inside the frame (it enters and leaves half-visible, centre on the edge).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pipeline.errors import ConfigError

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (225, 25, 25),
    "green": (25, 200, 45),
    "blue": (35, 70, 235),
    "yellow": (240, 220, 25),
    "magenta": (220, 35, 220),
    "cyan": (25, 215, 225),
    "white": (248, 248, 248),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
BACKGROUNDS: tuple[str, ...] = ("plain", "gradient", "noise", "clutter")
FRAME_SIZES: tuple[tuple[int, int], ...] = (
    (320, 240), (426, 240), (480, 270), (640, 360), (640, 480),
    (800, 450), (960, 540), (1024, 576), (1280, 720),
)
MIN_SIZE, MAX_SIZE = 0.08, 0.30
Level = Literal["easy", "hard"]
Interval = tuple[float, float]
Point = tuple[float, float]


def captions() -> list[str]:
    """The 21 colour–shape captions ("a red circle", ...) in a fixed order."""
    return [caption(c, s) for c in COLORS for s in SHAPES]


def caption(color: str, shape: str) -> str:
    return f"a {color} {shape}"


@dataclass(frozen=True)
class SceneObject:
    """One coloured shape, visible for ``t_in <= t < t_out`` along ``path``: normalised
    ``(x, y)`` points, each leg taking the same time; ``size`` is its height as a share
    of the frame height (its width follows the frame's aspect, so circles stay round).
    ``stretch`` multiplies its width and ``tilt`` turns it (degrees, clockwise): both
    are off in every generated scene; training varies them (``train_shapes``)."""

    color: str
    shape: str
    size: float
    path: tuple[Point, ...]
    t_in: float
    t_out: float
    stretch: float = 1.0
    tilt: float = 0.0

    def visible(self, t: float) -> bool:
        return self.t_in <= t < self.t_out

    def centre_at(self, t: float) -> Point:
        """Normalised centre at time ``t`` (clamped to the path's ends)."""
        if len(self.path) == 1 or self.t_out <= self.t_in:
            return self.path[0]
        u = min(max((t - self.t_in) / (self.t_out - self.t_in), 0.0), 1.0)
        pos = u * (len(self.path) - 1)
        i = min(int(pos), len(self.path) - 2)
        f = pos - i
        (x0, y0), (x1, y1) = self.path[i], self.path[i + 1]
        return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))


@dataclass(frozen=True)
class Background:
    """Background kind with its colours; ``seed`` fixes noise and clutter."""

    kind: str
    colors: tuple[tuple[int, int, int], ...]
    seed: int
    angle: float = 0.0


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene: ``width`` × ``height`` px, ``duration`` s at ``fps``, background
    and objects (earlier ones drawn on top). On ``level`` "hard" every other object
    shares the colour or the shape of object 0, the ``target`` (colour, shape) if set."""

    width: int
    height: int
    duration: float
    fps: float
    background: Background
    objects: tuple[SceneObject, ...]
    seed: int
    level: str = "easy"
    target: tuple[str, str] | None = None

    def frame_times(self, fps: float | None = None) -> list[float]:
        """Times of the frames of a clip of this scene at ``fps`` (default: the spec's)."""
        rate = fps or self.fps
        return [i / rate for i in range(round(self.duration * rate))]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SceneSpec:
        bg = d["background"]
        objects = tuple(
            SceneObject(
                o["color"], o["shape"], float(o["size"]),
                tuple((float(x), float(y)) for x, y in o["path"]),
                float(o["t_in"]), float(o["t_out"]),
                float(o.get("stretch", 1.0)), float(o.get("tilt", 0.0)),
            )
            for o in d["objects"]
        )
        background = Background(
            bg["kind"], tuple((int(r), int(g), int(b)) for r, g, b in bg["colors"]),
            int(bg["seed"]), float(bg.get("angle", 0.0)),
        )
        target = tuple(d["target"]) if d.get("target") else None
        return cls(
            int(d["width"]), int(d["height"]), float(d["duration"]), float(d["fps"]),
            background, objects, int(d["seed"]), str(d.get("level", "easy")),
            target,
        )


def _check(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(field, value, f"one of {', '.join(allowed)}")


def _check_target(target: tuple[str, str] | None) -> None:
    if target is not None:
        _check("target colour", target[0], tuple(COLORS))
        _check("target shape", target[1], SHAPES)


def _check_size(size: tuple[int, int]) -> None:
    w, h = size
    if not (320 <= w <= 1280 and 240 <= h <= 720 and w % 2 == 0 and h % 2 == 0):
        raise ConfigError("size", f"{w}x{h}", "even WxH from 320x240 to 1280x720")


MAX_DURATION_S = 24 * 3600.0
MAX_FPS = 120.0
MAX_DISTRACTORS = 8


def _check_timing(duration: float, fps: float) -> None:
    if not 0 < duration <= MAX_DURATION_S:
        raise ConfigError("duration", duration, f"seconds above 0, at most {MAX_DURATION_S:g}")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError("fps", fps, f"frames per second above 0, at most {MAX_FPS:g}")


def random_background(rng: random.Random, kind: str | None = None) -> Background:
    """A muted background (low saturation, so it never reads as a palette colour)."""
    kind = kind or rng.choice(BACKGROUNDS)
    _check("background", kind, BACKGROUNDS)

    def muted() -> tuple[int, int, int]:
        g = rng.randint(30, 170)
        return (
            min(255, max(0, g + rng.randint(-22, 22))),
            min(255, max(0, g + rng.randint(-22, 22))),
            min(255, max(0, g + rng.randint(-22, 22))),
        )

    return Background(kind, (muted(), muted()), rng.randrange(2**31), rng.uniform(0, 360))


def _edge_point(rng: random.Random, hx: float, hy: float) -> Point:
    """A centre on one of the four frame edges (the object is half inside)."""
    side = rng.randrange(4)
    if side == 0:
        return (0.0, rng.uniform(hy, 1 - hy))
    if side == 1:
        return (1.0, rng.uniform(hy, 1 - hy))
    if side == 2:
        return (rng.uniform(hx, 1 - hx), 0.0)
    return (rng.uniform(hx, 1 - hx), 1.0)


def _inner_point(rng: random.Random, hx: float, hy: float) -> Point:
    return (rng.uniform(hx, 1 - hx), rng.uniform(hy, 1 - hy))


def random_path(rng: random.Random, size: float, aspect: float) -> tuple[Point, ...]:
    """Enter at an edge, wander through 1–2 interior points, leave at an edge."""
    hy = size / 2
    hx = min(hy / aspect, 0.49)
    inner = [_inner_point(rng, hx, hy) for _ in range(rng.randint(1, 2))]
    return (_edge_point(rng, hx, hy), *inner, _edge_point(rng, hx, hy))


def _pick_kind(
    rng: random.Random, target: tuple[str, str] | None, level: str
) -> tuple[str, str]:
    """A distractor: never the target's colour AND shape; on "hard" it shares one."""
    colors, shapes = list(COLORS), list(SHAPES)
    while True:
        if target is not None and level == "hard":
            if rng.random() < 0.5:
                kind = (target[0], rng.choice(shapes))
            else:
                kind = (rng.choice(colors), target[1])
        else:
            kind = (rng.choice(colors), rng.choice(shapes))
        if kind != target:
            return kind


def _random_object(
    rng: random.Random, kind: tuple[str, str], aspect: float, interval: Interval
) -> SceneObject:
    size = rng.uniform(MIN_SIZE, MAX_SIZE)
    return SceneObject(kind[0], kind[1], size, random_path(rng, size, aspect), *interval)


def _random_interval(rng: random.Random, duration: float) -> Interval:
    """Long stays, sometimes already there at the start or still there at the end."""
    length = rng.uniform(0.35, 0.9) * duration
    start = rng.uniform(-0.25 * duration, duration - 0.5 * length)
    return (start, start + length)


def random_scene(
    seed: int,
    *,
    duration: float = 10.0,
    fps: float = 25.0,
    size: tuple[int, int] | None = None,
    n_objects: int | None = None,
    background: str | None = None,
    level: Level = "easy",
    target: tuple[str, str] | None = None,
) -> SceneSpec:
    """A random scene, fully determined by its arguments.

    ``target`` (or, on "hard" without one, the first object's kind) is object 0; on
    "hard" every other object shares its colour or its shape but never both.
    """
    _check("level", level, ("easy", "hard"))
    _check_target(target)
    _check_timing(duration, fps)
    rng = random.Random(seed)
    w, h = size or rng.choice(FRAME_SIZES)
    _check_size((w, h))
    n = n_objects or rng.randint(1, 4)
    if not 1 <= n <= 4:
        raise ConfigError("n_objects", n, "1 to 4")
    bg = random_background(rng, background)
    first = target or (rng.choice(list(COLORS)), rng.choice(SHAPES))
    anchor = first if (target is not None or level == "hard") else None
    kinds = [first] + [_pick_kind(rng, anchor, level) for _ in range(n - 1)]
    objects = tuple(
        _random_object(rng, k, w / h, _random_interval(rng, duration)) for k in kinds
    )
    return SceneSpec(w, h, duration, fps, bg, objects, seed, level, anchor)


def scripted_scene(
    target: tuple[str, str] = ("red", "circle"),
    visible: list[Interval] | tuple[Interval, ...] = ((2.0, 6.0),),
    distractors: int = 2,
    seed: int = 0,
    duration: float = 10.0,
    size: tuple[int, int] = (640, 360),
    background: str = "plain",
    *,
    fps: float = 25.0,
    level: Level = "easy",
    target_size: float | None = None,
) -> SceneSpec:
    """A scene whose target is visible exactly during the ``visible`` intervals.

    Each interval is a separate entry: the target enters at an edge, moves through the
    frame and leaves. Distractors never share both colour and shape with the target
    (on "hard" they share one of them) and are visible over long random stretches.
    """
    _check("level", level, ("easy", "hard"))
    _check_target(target)
    _check_size(size)
    _check_timing(duration, fps)
    if not 0 <= distractors <= MAX_DISTRACTORS:
        raise ConfigError("distractors", distractors, f"0 to {MAX_DISTRACTORS}")
    rng = random.Random(seed)
    w, h = size
    bg = random_background(rng, background)
    tsize = target_size or rng.uniform(0.14, 0.24)
    objects = [
        SceneObject(target[0], target[1], tsize, random_path(rng, tsize, w / h), float(a), float(b))
        for a, b in visible
    ]
    for _ in range(distractors):
        kind = _pick_kind(rng, target, level)
        objects.append(_random_object(rng, kind, w / h, _random_interval(rng, duration)))
    return SceneSpec(w, h, duration, fps, bg, tuple(objects), seed, level, target)
