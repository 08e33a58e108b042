"""Family b's vocabulary and frozen scene description.

Geometry is normalised: an actor's ``waypoints`` are centres as fractions of the frame
width and height, its ``height`` a fraction of the frame height, and its pixel width is
``height · H · aspect`` (aspect 1 keeps a circle round on any frame shape). An actor is
visible for ``t_on <= t < t_off``; when it enters (or leaves) by an edge it slides from
mostly outside the frame to its first waypoint in ``slide_s`` seconds, so a sliver of
it is already in the frame at ``t_on`` and until just before ``t_off``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import ConfigError

RGB = tuple[int, int, int]
Point = tuple[float, float]
Interval = tuple[float, float]

# Chosen for this family, near (never equal to) the hues the vocabulary names.
PALETTE: dict[str, RGB] = {
    "red": (214, 38, 42),
    "green": (46, 182, 64),
    "blue": (44, 84, 226),
    "yellow": (232, 212, 44),
    "magenta": (206, 52, 198),
    "cyan": (48, 204, 214),
    "white": (238, 240, 236),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
LEVELS: tuple[str, ...] = ("easy", "hard")
BACKDROPS: tuple[str, ...] = ("fbm", "stripes", "tiles", "grass", "gradient")
SIZES: tuple[tuple[int, int], ...] = (
    (320, 240), (400, 300), (426, 240), (480, 360), (512, 288), (640, 360),
    (640, 480), (768, 432), (854, 480), (960, 540), (1024, 576), (1280, 720),
)
SIDES: tuple[str, ...] = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class Actor:
    """One coloured shape. ``enter``/``leave`` name the frame edge it slides in from /
    out to, or are None when it appears / vanishes in place; ``tilt`` (degrees) turns
    squares and triangles a little; ``rgb`` is its paint before lighting."""

    colour: str
    shape: str
    rgb: RGB
    height: float
    aspect: float
    tilt: float
    t_on: float
    t_off: float
    waypoints: tuple[Point, ...]
    enter: str | None = None
    leave: str | None = None
    slide_s: float = 1.0
    target: bool = False

    def visible(self, t: float) -> bool:
        return self.t_on <= t < self.t_off


@dataclass(frozen=True)
class Backdrop:
    """A procedural muted background: ``kind`` from BACKDROPS, two muted colours, the
    texture's scale (pixels per feature at 720 p), orientation and noise seed."""

    kind: str
    colours: tuple[RGB, RGB]
    scale: float
    angle: float
    seed: int


@dataclass(frozen=True)
class Lighting:
    """Gain ``start → end`` over the scene plus a slow wobble of ``wobble`` at
    ``period`` s; ``night`` (0.35–0.5, or 1.0 for none) is the gain reached between
    ``dusk`` and ``dark`` seconds, when the frame also takes a cool tint."""

    start: float = 1.0
    end: float = 1.0
    wobble: float = 0.0
    period: float = 60.0
    night: float = 1.0
    dusk: float = 0.0
    dark: float = 0.0


@dataclass(frozen=True)
class Occluder:
    """A foreground post (vertical) or bar (horizontal) of ``thickness`` px, swinging
    about ``centre`` (normalised) by ``swing`` with period ``period`` s."""

    vertical: bool
    thickness: float
    centre: float
    swing: float
    period: float
    rgb: RGB


@dataclass(frozen=True)
class FamilyBScene:
    """A whole family-b scene. ``events`` are the (on, off) seconds in which at least
    one target instance is visible; ``actors`` hold targets and distractors (targets
    are drawn last, so a distractor never hides one); ``shake_px`` is the largest
    per-frame camera jitter, ``noise`` the sensor noise sigma, ``crf`` the H.264
    quality a clip of it is written at."""

    seed: int
    size: tuple[int, int]
    target: tuple[str, str]
    events: tuple[Interval, ...]
    duration: float
    level: str
    backdrop: Backdrop
    lighting: Lighting
    actors: tuple[Actor, ...]
    occluder: Occluder | None = None
    shake_px: float = 0.0
    noise: float = 0.0
    crf: int = 30

    @property
    def question(self) -> str:
        return caption(*self.target)

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def present(self, t: float) -> bool:
        """Whether a target instance is visible at ``t`` (the truth the events state)."""
        return any(on <= t < off for on, off in self.events)

    def frame_times(self, fps: float) -> list[float]:
        return [i / fps for i in range(round(self.duration * fps))]


def caption(colour: str, shape: str) -> str:
    return f"a {colour} {shape}"


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(field, value, f"one of {', '.join(allowed)}")
