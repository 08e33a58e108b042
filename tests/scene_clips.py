"""Scripted red-circle clips for the end-to-end runs, and whether real CLIP weights are there."""

from __future__ import annotations

import os
from pathlib import Path


def clip_available() -> bool:
    """shapes-demo is bundled, or FEEDWATCH_PERCEPTION_CLIP names another model."""
    from pipeline.models.clip_encoder import shapes_demo_dir

    other = os.environ.get("FEEDWATCH_PERCEPTION_CLIP", "shapes-demo") != "shapes-demo"
    return other or (shapes_demo_dir() / "open_clip_config.json").is_file()


def red_circle_clip(
    path: Path, visible: list[tuple[float, float]], *, distractors: int, seed: int,
    duration: float,
) -> Path:
    """A 320x240 clip at 10 fps (a keyframe every 2 s) where a red circle is ``visible``."""
    from pipeline.scenes import scripted_scene, write_clip

    spec = scripted_scene(
        target=("red", "circle"),
        visible=visible,
        distractors=distractors,
        seed=seed,
        duration=duration,
        size=(320, 240),
    )
    return write_clip(spec, path, fps=10, keyframe_interval_s=2.0)
