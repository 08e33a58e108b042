"""Family b: a second, independent synthetic scene family, for validation only.

Written without any code of :mod:`pipeline.scenes` (family a, which tunes levels and
trains ``shapes-demo``); it shares only the vocabulary the bundled model knows — 7
colours × 3 shapes, questions "a {colour} {shape}". Nothing is tuned on it: it is run
at the end and reported as it comes out.

What it renders, deterministically from a seed: anti-aliased circles, squares and
triangles (targets 10–30% of the frame height, distractors 6–30%), stretched
0.75–1.35; textured muted backgrounds (fBm, stripes, tiles, grass, gradients); slow
lighting ramps and, in about a third of the scenes, a day→night change (gain down to
0.35–0.5 with a cool tint); per-frame camera shake; sensor noise; crf 28–32 H.264; a
swinging foreground post or bar that covers at most ~40% of a target; targets that
slide in from an edge or appear in place; 1–3 distractors (easy: another colour and
another shape; hard: the target's colour or its shape, never both); sometimes two
target instances at once.

API::

    family_b_scenes(seed: int, count: int, level: str, long: bool = False)
        -> list[FamilyBScene]
        # not long: 30 s scenes, one 8 s event anywhere (every 4th from 0 s);
        # long: 300 s scenes, one 180 s event, every 3rd present from the first frame
    render_frame(scene: FamilyBScene, t: float) -> np.ndarray   # h×w×3 uint8, pure
    iter_frames(scene: FamilyBScene, fps: float) -> Iterator[tuple[float, np.ndarray]]
    write_clip(scene: FamilyBScene, path, fps: int = 5) -> Path
        # H.264 MP4 (keyframe every 2 s, yuv420p) streamed frame by frame, and the
        # sidecar path.with_suffix(".json"): {"target": "a red circle",
        # "events": [[on, off], ...], "family": "b", "seed", "level", "duration", "fps"}

``FamilyBScene`` (frozen): ``seed``, ``size`` (w, h), ``target`` (colour, shape),
``question`` ("a red circle"), ``events`` ((on, off) seconds, half-open, in which at
least one target instance is visible), ``duration``, ``level``, and the render
parameters (backdrop, lighting, actors, occluder, shake_px, noise, crf).
The sidecar's ``{"target", "events"}`` is the public truth format any clip can carry.

Importing this package imports numpy and the standard library only.
"""

from pipeline.familyb.build import family_b_scene, family_b_scenes, family_b_visits_scenes
from pipeline.familyb.clip import truth, write_clip
from pipeline.familyb.frame import iter_frames, render_frame
from pipeline.familyb.spec import (
    BACKDROPS,
    LEVELS,
    PALETTE,
    SHAPES,
    SIZES,
    Actor,
    Backdrop,
    FamilyBScene,
    Lighting,
    Occluder,
    caption,
)

__all__ = [
    "BACKDROPS", "LEVELS", "PALETTE", "SHAPES", "SIZES", "Actor", "Backdrop",
    "FamilyBScene", "Lighting", "Occluder", "caption", "family_b_scene", "family_b_scenes",
    "family_b_visits_scenes", "iter_frames", "render_frame", "truth", "write_clip",
]
