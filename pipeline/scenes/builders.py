"""The seeded scene builders: a random scene, or one whose target is visible exactly
when a script says; every argument checked, a :class:`ConfigError` naming it."""

from __future__ import annotations

import random

from pipeline.errors import ConfigError
from pipeline.scenes.spec import (
    BACKGROUNDS,
    COLORS,
    FRAME_SIZES,
    MAX_SIZE,
    MIN_SIZE,
    SHAPES,
    Background,
    Interval,
    Level,
    Point,
    SceneObject,
    SceneSpec,
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
