"""Deterministic, seeded synthetic scenes: coloured shapes over varied backgrounds.

Used by tests, benchmarks, the demo and the ``shapes-demo`` CLIP's training. Importing
this package imports numpy only; PyAV is imported when a clip is written.
"""

from pipeline.scenes.builders import random_scene, scripted_scene
from pipeline.scenes.clip import ClipTruth, FrameTruth, load_truth, sidecar_path, write_clip
from pipeline.scenes.render import ObjectTruth, background_image, render, render_labels
from pipeline.scenes.spec import (
    BACKGROUNDS,
    COLORS,
    FRAME_SIZES,
    MAX_SIZE,
    MIN_SIZE,
    SHAPES,
    Background,
    SceneObject,
    SceneSpec,
    caption,
    captions,
)

__all__ = [
    "BACKGROUNDS", "COLORS", "FRAME_SIZES", "MAX_SIZE", "MIN_SIZE", "SHAPES",
    "Background", "ClipTruth", "FrameTruth", "ObjectTruth", "SceneObject", "SceneSpec",
    "background_image", "caption", "captions", "load_truth", "random_scene", "render",
    "render_labels", "scripted_scene", "sidecar_path", "write_clip",
]
