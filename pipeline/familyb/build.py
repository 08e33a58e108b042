"""Seeded family-b scene builders.

Scene ``i`` of ``family_b_scenes(seed, ...)`` has its own seed ``seed·1000 + i`` and is
fully determined by it, the level and ``long``. Random choices per scene: frame size,
target, backdrop, lighting (slow ramps; about a third go from day to night), shake,
noise, compression quality, 1–3 distractors, a second target instance (about a
third), a swinging foreground post or bar (about 40%) whose thickness keeps it under
40% of any target instance.
"""

from __future__ import annotations

import colorsys
import random

from pipeline.errors import ConfigError
from pipeline.familyb.spec import (
    BACKDROPS,
    LEVELS,
    PALETTE,
    RGB,
    SHAPES,
    SIDES,
    SIZES,
    Actor,
    Backdrop,
    FamilyBScene,
    Lighting,
    Occluder,
    Point,
    check_choice,
)

SHORT, LONG = (30.0, 8.0), (300.0, 180.0)  # (scene duration, event length) in seconds
TARGET_HEIGHT = (0.10, 0.30)
DISTRACTOR_HEIGHT = (0.06, 0.30)
ASPECT = (0.75, 1.35)
# Post thickness / target extent: the widest strip through each shape covers < 40% of it
# (circle 0.28 → 35%, square 0.32 → 32%, triangle 0.2 → 36% even across its base).
OCCLUDER_SHARE = {"circle": 0.28, "square": 0.32, "triangle": 0.2}
MAX_SCENES = 1000


def family_b_scenes(seed: int, count: int, level: str, long: bool = False) -> list[FamilyBScene]:
    """``count`` scenes. Not long: 30 s, one 8 s event starting anywhere (every fourth
    scene, from index 3, has the target from 0 s). Long: 300 s, one 180 s event; every
    third scene (index 0, 3, ...) has it from the first frame, the rest start so it fits."""
    _check_set(seed, count, level)
    return [family_b_scene(seed * MAX_SCENES + i, i, level, long) for i in range(count)]


def _check_set(seed: int, count: int, level: str) -> None:
    check_choice("level", level, LEVELS)
    if not 1 <= count <= MAX_SCENES:
        raise ConfigError("count", count, f"1 to {MAX_SCENES}")
    if seed < 0:
        raise ConfigError("seed", seed, "a non-negative integer")


def family_b_scene(scene_seed: int, index: int, level: str, long: bool) -> FamilyBScene:
    """Scene number ``index`` of a set (the index decides only when the event starts)."""
    check_choice("level", level, LEVELS)
    rng = random.Random(f"familyb/{scene_seed}/{int(long)}")
    duration, length = LONG if long else SHORT
    from_start = index % 3 == 0 if long else index % 4 == 3
    on = 0.0 if from_start else round(rng.uniform(0.5, duration - length), 2)
    size = rng.choice(SIZES)
    target = (rng.choice(list(PALETTE)), rng.choice(SHAPES))
    event = (on, round(on + length, 2))
    targets = _targets(rng, target, event, size, long)
    return _scene(rng, scene_seed, size, target, (event,), targets, duration, level, long)


def _scene(
    rng: random.Random, scene_seed: int, size: tuple[int, int], target: tuple[str, str],
    events: tuple[tuple[float, float], ...], targets: list[Actor], duration: float, level: str,
    long: bool,
) -> FamilyBScene:
    """The rest of a scene once its target instances are drawn: distractors, backdrop,
    lighting, occluder, shake, noise and compression."""
    kinds = [_distractor_kind(rng, target, level) for _ in range(rng.randint(1, 3))]
    distractors = [_actor(rng, k, DISTRACTOR_HEIGHT, _stay(rng, duration), size, long)
                   for k in kinds]
    return FamilyBScene(
        seed=scene_seed, size=size, target=target, events=events,
        duration=duration, level=level, backdrop=_backdrop(rng), lighting=_lighting(rng, duration),
        actors=(*distractors, *targets), occluder=_occluder(rng, targets, size),
        shake_px=round(rng.choice((0.0, 1.0, 1.0, 1.0)) * rng.uniform(0.3, 1.0) * size[1] / 160, 2),
        noise=round(rng.uniform(1.5, 5.0), 2), crf=rng.randint(28, 32),
    )


VISITS = (120.0, (6.0, 30.0), (8.0, 30.0), 4)  # scene; one visit; between two; at most


def family_b_visits_scenes(seed: int, count: int, level: str) -> list[FamilyBScene]:
    """``count`` scenes of 120 s in which the target comes and goes 2-4 times (every
    third scene, index 0, 3, ..., from the first frame); everything else is drawn as for
    the 30-s scenes. Scene ``i`` has the seed ``seed·1000 + i`` (drawn apart from them)."""
    _check_set(seed, count, level)
    return [_visits_scene(seed * MAX_SCENES + i, i, level) for i in range(count)]


def _visits_scene(scene_seed: int, index: int, level: str) -> FamilyBScene:
    rng = random.Random(f"familyb/{scene_seed}/visits")
    duration, (short, longest), (gap, widest), most = VISITS
    t = 0.0 if index % 3 == 0 else rng.uniform(0.5, 12.0)
    events: list[tuple[float, float]] = []
    while len(events) < most and t + short <= duration - 2.0:
        off = min(t + rng.uniform(short, longest), duration - 2.0)
        events.append((round(t, 2), round(off, 2)))
        t = off + rng.uniform(gap, widest)
    size = rng.choice(SIZES)
    target = (rng.choice(list(PALETTE)), rng.choice(SHAPES))
    targets = [_actor(rng, target, TARGET_HEIGHT, e, size, e[1] - e[0] > 20.0, target=True)
               for e in events]
    return _scene(rng, scene_seed, size, target, tuple(events), targets, duration, level, True)


def _targets(
    rng: random.Random, kind: tuple[str, str], event: tuple[float, float],
    size: tuple[int, int], long: bool,
) -> list[Actor]:
    first = _actor(rng, kind, TARGET_HEIGHT, event, size, long, target=True)
    if rng.random() >= 1 / 3:
        return [first]
    on, off = event
    span = off - on
    inner = (
        round(on + rng.uniform(0.1, 0.4) * span, 2), round(off - rng.uniform(0.1, 0.3) * span, 2)
    )
    return [first, _actor(rng, kind, TARGET_HEIGHT, inner, size, long, target=True)]


def _distractor_kind(rng: random.Random, target: tuple[str, str], level: str) -> tuple[str, str]:
    """Easy: another colour AND another shape. Hard: the target's colour or its shape."""
    colours = [c for c in PALETTE if c != target[0]]
    shapes = [s for s in SHAPES if s != target[1]]
    if level == "easy":
        return (rng.choice(colours), rng.choice(shapes))
    if rng.random() < 0.5:
        return (target[0], rng.choice(shapes))
    return (rng.choice(colours), target[1])


def _stay(rng: random.Random, duration: float) -> tuple[float, float]:
    """A distractor's long visit; sometimes the whole scene."""
    if rng.random() < 0.4:
        return (0.0, duration)
    start = rng.uniform(-0.3, 0.8) * duration
    end = start + rng.uniform(0.3, 0.9) * duration
    return (round(max(start, 0.0), 2), round(min(end, duration), 2))


def _jitter(rgb: RGB, rng: random.Random) -> RGB:
    r, g, b = (min(255, max(0, c + rng.randint(-10, 10))) for c in rgb)
    return (r, g, b)


def _actor(
    rng: random.Random, kind: tuple[str, str], heights: tuple[float, float],
    interval: tuple[float, float], size: tuple[int, int], long: bool, target: bool = False,
) -> Actor:
    w, h = size
    height, aspect = rng.uniform(*heights), rng.uniform(*ASPECT)
    tilt = 0.0 if kind[1] == "circle" else rng.uniform(-10.0, 10.0)
    hx, hy = 0.6 * height * aspect * h / w + 0.01, 0.6 * height + 0.01
    n = rng.randint(2, 4) if long else rng.randint(1, 2)
    points: tuple[Point, ...] = tuple(
        (round(rng.uniform(hx, 1 - hx), 3), round(rng.uniform(hy, 1 - hy), 3)) for _ in range(n)
    )
    enter = rng.choice(SIDES) if interval[0] > 0 and rng.random() < 0.55 else None
    leave = rng.choice(SIDES) if rng.random() < 0.55 else None
    return Actor(
        colour=kind[0], shape=kind[1], rgb=_jitter(PALETTE[kind[0]], rng),
        height=round(height, 3), aspect=round(aspect, 3), tilt=round(tilt, 1),
        t_on=interval[0], t_off=interval[1], waypoints=points, enter=enter, leave=leave,
        slide_s=round(rng.uniform(1.0, 3.0) if long else rng.uniform(0.6, 1.5), 2),
        target=target,
    )


def _muted(rng: random.Random, hue: float | None = None, value: float | None = None) -> RGB:
    """A low-saturation colour, never mistaken for a palette colour."""
    h = rng.random() if hue is None else hue
    v = rng.uniform(0.28, 0.62) if value is None else value
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.04, 0.22), v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _backdrop(rng: random.Random) -> Backdrop:
    """Two muted colours at least 0.12 apart in value, so the texture shows."""
    kind = rng.choice(BACKDROPS)
    hue = rng.uniform(0.16, 0.28) if kind == "grass" else None
    v0 = rng.uniform(0.28, 0.62)
    v1 = v0 + rng.choice((-1, 1)) * rng.uniform(0.12, 0.25)
    v1 = v1 if 0.18 <= v1 <= 0.72 else v0 - (v1 - v0)
    return Backdrop(
        kind=kind, colours=(_muted(rng, hue, v0), _muted(rng, hue, v1)),
        scale=round(rng.uniform(20.0, 70.0), 1), angle=round(rng.uniform(0.0, 180.0), 1),
        seed=rng.randrange(2**31),
    )


def _lighting(rng: random.Random, duration: float) -> Lighting:
    ramp = Lighting(
        start=round(rng.uniform(0.85, 1.1), 3), end=round(rng.uniform(0.85, 1.1), 3),
        wobble=round(rng.uniform(0.0, 0.12), 3), period=round(rng.uniform(20.0, 90.0), 1),
    )
    if rng.random() >= 0.35:
        return ramp
    dusk = rng.uniform(0.0, 0.3) * duration
    dark = min(dusk + rng.uniform(0.4, 0.7) * duration, duration)
    night = round(rng.uniform(0.35, 0.5), 3)
    return Lighting(ramp.start, ramp.end, ramp.wobble, ramp.period,
                    night=night, dusk=round(dusk, 2), dark=round(dark, 2))


def _occluder(rng: random.Random, targets: list[Actor], size: tuple[int, int]) -> Occluder | None:
    if rng.random() >= 0.4:
        return None
    vertical = rng.random() < 0.7
    h = size[1]
    extent = min(a.height * h * (a.aspect if vertical else 1.0) for a in targets)
    return Occluder(
        vertical=vertical, thickness=round(OCCLUDER_SHARE[targets[0].shape] * extent, 2),
        centre=round(rng.uniform(0.25, 0.75), 3), swing=round(rng.uniform(0.1, 0.3), 3),
        period=round(rng.uniform(8.0, 30.0), 1), rgb=_muted(rng),
    )
