"""The evaluation behind ``feedwatch bench answers`` (no click, no printing).

Each scene (:func:`pipeline.scenes.watch.watch_scene`) is one camera watched for
``duration`` seconds: written as H.264 and decoded again (compression lowers CLIP
scores, so a bench on clean renders would flatter any absolute level), sampled at
1 fps and encoded once; the asked object is visible
in one stretch. Standing-query windows of ``window`` s end every ``every`` s (the
product defaults, 4 s every 1 s). For every window the product selection picks frames
and each ``clip`` mode answers with its own baseline state (one per scene: a fresh
camera and query). A window counts when its truth is known: it overlaps the object's
visible stretch by ≥ 1 s (should say yes) or not at all (should say no); edge windows
in between are not scored.

Corrections: in a second pass of the default mode, the first ``corrections`` wrong
answers of each scene are marked wrong by the user right after they are given (as a
click on ✗ would), and agreement over the same windows is measured again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.answerers import build_answerer
from pipeline.answerers.baseline import Label, MemoryStates
from pipeline.answerers.clip import ClipAnswerer
from pipeline.engine import encode_frames as engine_encode
from pipeline.perception import SelectionConfig, select_for_queries
from pipeline.scenes import render, write_clip
from pipeline.scenes.watch import WatchScene, watch_scene, window_truth
from pipeline.types import EncodedFrame, Frame, ImageArray, StandingQuery

MODES = ("adaptive", "threshold", "margin")
DEFAULT_MODE = "adaptive"
SCENE_STRIDE = 100_003
VIDEO_FPS = 5


@dataclass
class Tally:
    """Right / scored windows, overall and per background."""

    right: int = 0
    total: int = 0
    per_bg: dict[str, list[int]] = field(default_factory=dict)
    calibrating: int = 0

    def add(self, background: str, ok: bool) -> None:
        self.right += ok
        self.total += 1
        cell = self.per_bg.setdefault(background, [0, 0])
        cell[0] += ok
        cell[1] += 1

    def figures(self) -> dict[str, Any]:
        return {
            "agreement": _ratio(self.right, self.total),
            "per_background": {bg: _ratio(r, n) for bg, (r, n) in self.per_bg.items()},
            "windows": self.total,
            "calibrating_windows": self.calibrating,
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


@dataclass(frozen=True)
class Setup:
    """What every scene shares."""

    level: str = "hard"
    """``hard``: the distractors share the asked object's colour or its shape."""
    duration: float = 30.0
    """Seconds each camera is watched."""
    visible: float = 8.0
    """Seconds the asked object is visible (one stretch)."""
    window: float = 4.0
    """Window length in seconds (the product default)."""
    every: float = 1.0
    """Seconds between window ends (the product default)."""
    corrections: int = 0
    """Wrong answers per scene the user corrects in the second pass."""
    second_look: float | None = None
    """The adaptive mode's second-look span in patch cells (None: the model's; 0: off)."""
    selection: SelectionConfig = field(default_factory=SelectionConfig)


def video_frames(scene: WatchScene, times: Sequence[float]) -> list[ImageArray]:
    """The frames at ``times`` as a camera delivers them: the scene is written as H.264
    (5 fps, crf 20, a keyframe every 2 s) and decoded again."""
    import av

    with tempfile.TemporaryDirectory(prefix="fw-bench-answers-") as tmp:
        path = write_clip(scene.spec, Path(tmp) / "scene.mp4", fps=VIDEO_FPS)
        with av.open(str(path)) as container:
            decoded = [np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8)
                       for f in container.decode(video=0)]
    return [decoded[min(round(t * VIDEO_FPS), len(decoded) - 1)] for t in times]


def encode_scene(
    encoder: Any, scene: WatchScene, camera: str, video: bool = True
) -> list[EncodedFrame]:
    """The scene's 1-fps frames (through the codec unless ``video`` is False), encoded once
    as the product's engine does (thumbnails included: the second look crops them)."""
    times = [float(t) for t in range(int(scene.spec.duration))]
    if video:
        frames = video_frames(scene, times)
    else:
        frames = [render(scene.spec, t)[0] for t in times]
    return engine_encode(encoder, [Frame(camera, t, rgb) for t, rgb in zip(times, frames,
                                                                           strict=True)])


def windows(frames: Sequence[EncodedFrame], setup: Setup) -> list[tuple[float, float]]:
    """(start, end) of every window that ends inside the scene, oldest first."""
    out, end = [], setup.window
    while end <= setup.duration + 1e-9:
        out.append((end - setup.window, end))
        end += setup.every
    return out


def answer_scene(
    answerer: ClipAnswerer, encoder: Any, scene: WatchScene, frames: Sequence[EncodedFrame],
    setup: Setup, tally: Tally, corrections: int = 0,
) -> None:
    """Answer every window of one scene, correcting the first wrong answers if asked."""
    states = MemoryStates()
    answerer.use_states(states)
    query = StandingQuery(f"q-{frames[0].camera}", scene.question)
    emb = encoder.encode_text([scene.question])
    left = corrections
    for start, end in windows(frames, setup):
        window = [f for f in frames if start <= f.t < end]
        (sel,) = select_for_queries(window, [query.id], emb, setup.selection)
        result = answerer.answer(query, window, sel, emb[0])
        truth = window_truth(scene, start, end)
        if truth is None:
            continue  # an undecided answer (None) counts as a disagreement
        tally.add(scene.spec.background.kind, result.matched == truth)
        tally.calibrating += "calibrating" in result.text
        if result.matched != truth and left > 0 and result.score is not None:
            states.add_label(query.id, window[-1].camera, Label(window[-1].t, result.score, truth))
            left -= 1


def run_bench(
    encoder: Any, *, scenes: int, seed: int, backgrounds: Sequence[str], setup: Setup,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Every figure of the bench as one JSON-ready dict."""
    look = {"second_look": setup.second_look} if setup.second_look is not None else {}
    answerers = {m: build_answerer("clip", {"mode": m, **(look if m == "adaptive" else {})},
                                   encoder=encoder) for m in MODES}
    tallies = {m: Tally() for m in MODES}
    corrected = Tally()
    for n in range(scenes):
        scene = watch_scene(seed * SCENE_STRIDE + n, backgrounds[n % len(backgrounds)],
                            level=setup.level, duration=setup.duration,  # type: ignore[arg-type]
                            visible=setup.visible)
        frames = encode_scene(encoder, scene, f"scene-{n}")
        for mode, answerer in answerers.items():
            answer_scene(answerer, encoder, scene, frames, setup, tallies[mode])  # type: ignore[arg-type]
        if setup.corrections:
            answer_scene(answerers[DEFAULT_MODE], encoder, scene, frames, setup, corrected,  # type: ignore[arg-type]
                         setup.corrections)
        if progress:
            progress(n + 1, scenes)
    return _result(tallies, corrected, encoder, scenes=scenes, seed=seed, setup=setup,
                   backgrounds=backgrounds)


def _result(tallies: dict[str, Tally], corrected: Tally, encoder: Any, *, scenes: int,
            seed: int, setup: Setup, backgrounds: Sequence[str]) -> dict[str, Any]:
    modes = {m: t.figures() for m, t in tallies.items()}
    default = modes[DEFAULT_MODE]
    out: dict[str, Any] = {
        "default_mode": DEFAULT_MODE,
        "agreement": default["agreement"],
        "per_background": default["per_background"],
        "modes": modes,
        "vs_threshold": _diff(default["agreement"], modes["threshold"]["agreement"]),
        "scenes": scenes, "seed": seed, "level": setup.level, "backgrounds": list(backgrounds),
        "duration_s": setup.duration, "visible_s": setup.visible, "window_s": setup.window,
        "every_s": setup.every, "clip": getattr(encoder, "model_id", "?"),
        "second_look": setup.second_look,
    }
    if setup.corrections:
        out["corrections"] = {
            "per_scene": setup.corrections,
            "agreement_before": default["agreement"],
            "agreement_after": corrected.figures()["agreement"],
            "per_background_after": corrected.figures()["per_background"],
        }
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)
