"""Scenes for judging standing-question answers: a camera watched for a while.

A watch scene is ``duration`` seconds of one camera (a random frame size, a background
of the requested kind, 1–3 distractors that on ``hard`` share the target's colour or
its shape) in which the asked object is visible in ONE stretch of ``visible`` seconds
starting anywhere in the scene. It is built from its seed alone, independently of the
scenes the bundled model was trained on and of ``bench selection``'s windows.

Window truth (:func:`window_truth`) follows the bench rule: a window overlapping the
visible stretch by at least ``min_overlap`` seconds should be answered "yes", one not
touching it "no"; an edge window in between is not scored (``None``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.scenes.builders import scripted_scene
from pipeline.scenes.spec import (
    BACKGROUNDS,
    COLORS,
    FRAME_SIZES,
    SHAPES,
    Level,
    SceneSpec,
    caption,
)


@dataclass(frozen=True)
class WatchScene:
    """A watch scene, its asked object and when that object is visible."""

    spec: SceneSpec
    target: tuple[str, str]
    visible: tuple[float, float]

    @property
    def question(self) -> str:
        return caption(*self.target)


def watch_scene(
    seed: int,
    background: str,
    *,
    level: Level = "hard",
    duration: float = 30.0,
    visible: float = 8.0,
) -> WatchScene:
    """The watch scene of ``seed`` on a ``background`` of the given kind."""
    if background not in BACKGROUNDS:
        raise ConfigError("background", background, f"one of {', '.join(BACKGROUNDS)}")
    if not 0 < visible <= duration:
        raise ConfigError("visible", visible, f"seconds in (0, {duration}]")
    rng = random.Random(seed)
    target = (rng.choice(list(COLORS)), rng.choice(SHAPES))
    start = round(rng.uniform(0.0, duration - visible), 3)
    spec = scripted_scene(
        target, [(start, start + visible)], distractors=rng.randint(1, 3), seed=seed,
        duration=duration, size=rng.choice(FRAME_SIZES), background=background, level=level,
    )
    return WatchScene(spec, target, (start, start + visible))


def window_truth(
    scene: WatchScene, start: float, end: float, min_overlap: float = 1.0
) -> bool | None:
    """True/False for a window [start, end) that should be answered yes/no; None: not scored."""
    lo, hi = scene.visible
    overlap = min(end, hi) - max(start, lo)
    if overlap >= min_overlap:
        return True
    return False if overlap <= 0 else None
