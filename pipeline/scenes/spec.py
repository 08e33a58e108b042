"""Scene descriptions: frozen value objects (built from seeds by
:mod:`pipeline.scenes.builders`).

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

from dataclasses import asdict, dataclass
from typing import Any, Literal

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
