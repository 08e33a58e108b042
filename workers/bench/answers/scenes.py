"""Where the bench's clips come from; every source gives the same thing.

A :class:`SceneSet` is a list of :class:`SceneItem`: each writes (or names) one MP4 clip
whose truth sidecar ``clip.with_suffix(".json")`` holds the public format
``{"target": "a red circle", "events": [[on, off], ...]}`` (seconds, half-open), read
back by :func:`.sidecar.read_sidecar` whatever the source.

* family a (:func:`family_a`): :func:`pipeline.scenes.watch.watch_scene` scenes, 30 s
  with the object on screen for 8 s, written as H.264 at 5 fps; ``long``: 300 s with
  one 180-s event, present from the first frame in every third scene; ``visits``:
  120 s in which the object comes and goes 2–4 times (:func:`visits_scene`);
* family b (:func:`family_b`): :func:`pipeline.familyb.family_b_scenes` (30 s / 8 s,
  or 300 s / 180 s when long; ``visits``: 120 s, 2–4 visits), which writes its own
  sidecar;
* a directory (:func:`clip_dir`): every ``*.mp4`` in it, with its sidecar.

Family clips are written into a directory the runner deletes after scoring each one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.familyb import FamilyBScene, family_b_scenes, family_b_visits_scenes
from pipeline.familyb import write_clip as write_b
from pipeline.scenes import COLORS, FRAME_SIZES, SHAPES, caption, scripted_scene
from pipeline.scenes import write_clip as write_a
from pipeline.scenes.spec import Level, SceneSpec
from pipeline.scenes.watch import WatchScene, watch_scene
from workers.bench.answers.metrics import Interval
from workers.bench.answers.sidecar import SidecarError, not_a_file, read_sidecar

SCENE_STRIDE = 100_003
VIDEO_FPS = 5
SHORT_A = (30.0, 8.0)  # (scene duration, seconds on screen)
LONG_A = (300.0, 180.0)
VISITS_S, VISIT_S, AWAY_S = 120.0, (6.0, 30.0), (8.0, 30.0)  # scene; one visit; between


@dataclass(frozen=True)
class SceneItem:
    """One clip to score: ``write(folder)`` returns its path (a given clip: as it is)."""

    name: str
    background: str
    write: Callable[[Path], Path]


@dataclass(frozen=True)
class SceneSet:
    """The clips of one bench run and how they were made (for the JSON)."""

    items: list[SceneItem]
    family: str | None
    long: bool = False
    describe: dict[str, Any] = field(default_factory=dict)


def family_a(seed: int, count: int, level: str, backgrounds: Sequence[str],
             long: bool = False, visits: bool = False) -> SceneSet:
    """Family a scenes ``seed·100003 + n``, backgrounds taken in turn (``visits``: the
    asked thing comes and goes several times, :func:`visits_scene`)."""
    _one_kind(long, visits)
    duration, visible = LONG_A if long else SHORT_A
    items = []
    for n in range(count):
        scene_seed, bg = seed * SCENE_STRIDE + n, backgrounds[n % len(backgrounds)]
        if visits:
            spec, target, events = visits_scene(scene_seed, bg, level)
        else:
            scene = (long_watch_scene(scene_seed, bg, level, from_start=n % 3 == 0) if long
                     else _watch_scene(scene_seed, bg, level))
            spec, target, events = scene.spec, scene.target, [scene.visible]
        items.append(SceneItem(f"a-{scene_seed}", bg,
                               _writer_a(spec, target, events, scene_seed, level)))
    describe: dict[str, Any] = {"seed": seed, "level": level, "backgrounds": list(backgrounds),
                                "duration_s": duration, "visible_s": visible}
    if visits:
        describe.update(duration_s=VISITS_S, visible_s=None, visits="2-4")
    return SceneSet(items, "a", long, describe)


def _one_kind(long: bool, visits: bool) -> None:
    if long and visits:
        raise ValueError("long and visits are two kinds of scene: choose one")


def _watch_scene(seed: int, background: str, level: str) -> WatchScene:
    duration, visible = SHORT_A
    return watch_scene(seed, background, level=_level(level), duration=duration,
                       visible=visible)


def _level(level: str) -> Level:
    if level not in ("easy", "hard"):
        raise ValueError(f"level {level!r}: easy or hard")
    return "easy" if level == "easy" else "hard"


def long_watch_scene(seed: int, background: str, level: str, *,
                     from_start: bool) -> WatchScene:
    """A 300-s family-a watch scene with one 180-s event (from 0 s when ``from_start``),
    built as :func:`pipeline.scenes.watch.watch_scene` builds its scenes."""
    duration, visible = LONG_A
    rng = random.Random(seed)
    target = (rng.choice(list(COLORS)), rng.choice(SHAPES))
    start = 0.0 if from_start else round(rng.uniform(0.5, duration - visible), 3)
    spec = scripted_scene(
        target, [(start, start + visible)], distractors=rng.randint(1, 3), seed=seed,
        duration=duration, size=rng.choice(FRAME_SIZES), background=background,
        level=_level(level),
    )
    return WatchScene(spec, target, (start, start + visible))


def visits_scene(seed: int, background: str, level: str
                 ) -> tuple[SceneSpec, tuple[str, str], list[Interval]]:
    """A 120-s family-a scene whose asked thing comes and goes: visits of 6–30 s, the
    first within 12 s, 8–30 s apart (2–4 in all); each one enters at an edge, crosses
    and leaves, as in :func:`pipeline.scenes.watch.watch_scene`."""
    rng = random.Random(f"visits/{seed}")
    target = (rng.choice(list(COLORS)), rng.choice(SHAPES))
    events: list[Interval] = []
    t = rng.uniform(0.0, 12.0)
    while len(events) < 4:
        on, off = t, t + rng.uniform(*VISIT_S)
        if off > VISITS_S - 2.0:
            break
        events.append((round(on, 3), round(off, 3)))
        t = off + rng.uniform(*AWAY_S)  # a second visit always fits: it ends by 102 s
    spec = scripted_scene(
        target, events, distractors=rng.randint(1, 3), seed=seed, duration=VISITS_S,
        size=rng.choice(FRAME_SIZES), background=background, level=_level(level),
    )
    return spec, target, events


def _writer_a(spec: SceneSpec, target: tuple[str, str], events: Sequence[Interval], seed: int,
              level: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = write_a(spec, folder / f"a-{seed}.mp4", fps=VIDEO_FPS)
        path.with_suffix(".json").write_text(json.dumps({  # the public format, replacing
            "target": caption(*target), "events": [list(e) for e in events],  # per-frame
            "family": "a", "seed": seed, "level": level,
            "background": spec.background.kind, "duration": spec.duration}))
        return path

    return write


def family_b(seed: int, count: int, level: str, long: bool = False,
             visits: bool = False) -> SceneSet:
    """Family b's scenes (for reporting only: nothing is tuned on them); ``visits``: its
    120-s scenes in which the target comes and goes 2-4 times."""
    _one_kind(long, visits)
    scenes = (family_b_visits_scenes(seed, count, level) if visits
              else family_b_scenes(seed, count, level, long=long))
    items = [SceneItem(f"b-{s.seed}", s.backdrop.kind, _writer_b(s)) for s in scenes]
    durations = {s.duration for s in scenes}
    visible = {round(off - on, 3) for s in scenes for on, off in s.events}
    describe: dict[str, Any] = {
        "seed": seed, "level": level, "backgrounds": None,
        "duration_s": durations.pop() if len(durations) == 1 else None,
        "visible_s": visible.pop() if len(visible) == 1 else None}
    if visits:
        describe["visits"] = "2-4"
    return SceneSet(items, "b", long, describe)


def _writer_b(scene: FamilyBScene) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        return write_b(scene, folder / f"b-{scene.seed}.mp4")

    return write


def _given(clip: Path) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        return clip

    return write


class UnusableClip(OSError):
    """A ``*.mp4`` entry of a clip directory that is not a file (the message says why)."""


def _unusable(clip: Path) -> Callable[[Path], Path]:
    why = not_a_file(clip)

    def write(folder: Path) -> Path:
        raise UnusableClip(f"not a video file ({why})")

    return write


MAX_NAMED = 10
"""Unusable sidecars named in one error."""


def clip_dir(folder: Path) -> SceneSet:
    """Every ``*.mp4`` of ``folder`` (any case of the suffix; sorted by name), each
    sidecar checked up front. An entry that is not a file (a directory, a broken link)
    is kept as a clip that cannot be scored: the run names it and reports no figures."""
    clips = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".mp4")
    if not clips:
        raise SidecarError(f"{folder}: no *.mp4 clips in it")
    items, bad = [], []
    for clip in clips:
        if not clip.is_file():
            items.append(SceneItem(clip.name, "unlabelled", _unusable(clip)))
            continue
        try:
            truth = read_sidecar(clip)
        except SidecarError as exc:
            bad.append(str(exc))
            continue
        items.append(SceneItem(clip.name, truth.background or "unlabelled", _given(clip)))
    if bad:  # every unusable sidecar named at once, so all can be mended in one go
        shown = "; ".join(bad[:MAX_NAMED]) + ("; …" if len(bad) > MAX_NAMED else "")
        raise SidecarError(f"{len(bad)} of {len(clips)} sidecars not usable: {shown}")
    return SceneSet(items, None, False, {
        "clips_dir": str(folder), "seed": None, "level": None, "backgrounds": None,
        "duration_s": None, "visible_s": None})
