"""Family b, the validation-only scene family: determinism, truth against pixels,
distractor rules, long scenes, occlusion bound and written clips."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.familyb import (
    BACKDROPS,
    PALETTE,
    SIZES,
    FamilyBScene,
    family_b_scenes,
    family_b_visits_scenes,
    iter_frames,
    render_frame,
    write_clip,
)
from pipeline.familyb.frame import INSIDE_AT_EDGE, actor_centre


def _mask(img: np.ndarray, colour: str) -> np.ndarray:
    """Pixels of a saturated colour whose hue is the palette colour's (gain-invariant)."""
    f = img.astype(np.float32)
    mx, mn = f.max(2), f.min(2)
    chroma = f - f.mean(2, keepdims=True)
    ref = np.asarray(PALETTE[colour], np.float32)
    ref -= ref.mean()
    cos = (chroma @ ref) / (np.linalg.norm(chroma, axis=2) * np.linalg.norm(ref) + 1e-6)
    return ((mx - mn) > 35) & ((mx - mn) > 0.45 * mx) & (cos > 0.9)


def _targets(s: FamilyBScene) -> list:  # type: ignore[type-arg]
    return [a for a in s.actors if a.target]


def _area(s: FamilyBScene) -> float:
    """Half the smallest target instance's box: a lower bound of a shape's area."""
    return min((a.height * s.height) ** 2 * a.aspect * 0.5 for a in _targets(s))


def _coloured(scenes: list[FamilyBScene]) -> list[FamilyBScene]:
    return [s for s in scenes if s.target[0] != "white"]


def _small(s: FamilyBScene) -> FamilyBScene:
    """The same scene rendered at 426×240 (geometry is normalised), to keep tests fast."""
    return dataclasses.replace(s, size=(426, 240))


def test_same_seed_same_scenes_and_pixels_other_seed_differs() -> None:
    a, b, c = (family_b_scenes(seed, 3, "easy") for seed in (4, 4, 5))
    assert a == b and a != c
    for t in (0.0, 9.7, 21.3):
        assert np.array_equal(render_frame(a[1], t), render_frame(b[1], t))
    assert not np.array_equal(render_frame(a[0], 5.0), render_frame(c[0], 5.0))


def test_frames_have_the_scene_size_and_iterate_in_time_order() -> None:
    s = family_b_scenes(1, 1, "hard")[0]
    assert s.size in SIZES and s.size[0] % 2 == 0 and s.size[1] % 2 == 0
    frames = iter_frames(dataclasses.replace(s, duration=1.0), 4)
    times = []
    for t, rgb in frames:
        assert rgb.shape == (s.height, s.width, 3) and rgb.dtype == np.uint8
        times.append(t)
    assert times == [0.0, 0.25, 0.5, 0.75]


def test_truth_matches_pixels_on_easy_scenes_without_occlusion() -> None:
    scenes = [_small(s) for s in _coloured(family_b_scenes(5, 24, "easy")) if not s.occluder][:4]
    assert len(scenes) == 4
    for s in scenes:
        (on, off), = s.events
        slide = max(a.slide_s for a in _targets(s))
        inside = np.linspace(on + slide + 0.1, off - slide - 0.1, 3)
        outside = [t for t in (0.0, on - 2.0, on - 0.2, off + 0.1, off + 2.5, s.duration - 0.1)
                   if 0 <= t < s.duration and not s.present(t)]
        for t in inside:
            assert _mask(render_frame(s, t), s.target[0]).sum() > 0.5 * _area(s), (s.seed, t)
        for t in outside:
            assert _mask(render_frame(s, t), s.target[0]).sum() < 0.05 * _area(s), (s.seed, t)


@pytest.mark.parametrize("level", ["easy", "hard"])
def test_distractors_follow_the_level(level: str) -> None:
    for s in family_b_scenes(11, 40, level):
        others = [a for a in s.actors if not a.target]
        assert 1 <= len(others) <= 3
        assert all((a.colour, a.shape) == s.target for a in _targets(s))
        for a in others:
            same_colour, same_shape = a.colour == s.target[0], a.shape == s.target[1]
            if level == "easy":
                assert not same_colour and not same_shape
            else:
                assert same_colour != same_shape


def test_short_scenes_have_one_8s_event_anywhere_some_from_the_start() -> None:
    scenes = family_b_scenes(3, 12, "easy")
    ons = [s.events[0][0] for s in scenes]
    for i, s in enumerate(scenes):
        assert s.duration == 30.0 and len(s.events) == 1
        on, off = s.events[0]
        assert off - on == pytest.approx(8.0) and 0.0 <= on and off <= 30.0
        assert (on == 0.0) == (i % 4 == 3)
    assert max(ons) - min(o for o in ons if o > 0) > 10.0


def _target_drawn(s: FamilyBScene, t: float) -> int:
    """Pixels that change when the targets are removed (any colour, white included)."""
    bare = dataclasses.replace(s, actors=tuple(a for a in s.actors if not a.target))
    diff = np.abs(render_frame(s, t).astype(int) - render_frame(bare, t).astype(int))
    return int((diff.max(2) > 30).sum())


def test_long_scenes_a_third_present_from_the_first_frame() -> None:
    scenes = [_small(s) for s in family_b_scenes(2, 6, "easy", long=True)]
    for i, s in enumerate(scenes):
        on, off = s.events[0]
        assert s.duration == 300.0 and off - on == pytest.approx(180.0) and off <= 300.0
        if i % 3 == 0:
            assert on == 0.0 and _target_drawn(s, 0.0) > 0.5 * _area(s)
        else:
            assert on > 0.0 and _target_drawn(s, 0.0) == 0
        assert _target_drawn(s, on + 90.0) > 0.5 * _area(s)
        assert _target_drawn(s, off + 1.0) == 0 or off + 1.0 >= s.duration


def test_visits_scenes_bring_the_target_back_two_to_four_times() -> None:
    scenes = family_b_visits_scenes(4, 9, "hard")
    assert [s.events for s in scenes] == [s.events for s in family_b_visits_scenes(4, 9, "hard")]
    for i, s in enumerate(scenes):
        assert s.duration == 120.0 and 2 <= len(s.events) <= 4
        assert (s.events[0][0] == 0.0) == (i % 3 == 0) and s.events[0][0] <= 12.0
        assert all(off - on <= 30.0 and off <= 118.0 for on, off in s.events)
        assert all(8.0 <= b[0] - a[1] <= 30.0 for a, b in zip(s.events, s.events[1:], strict=False))
        assert sorted((a.t_on, a.t_off) for a in _targets(s)) == list(s.events)
    s = _small(scenes[1])
    for (on, off), (nxt, _) in zip(s.events, s.events[1:], strict=False):
        assert _target_drawn(s, (on + off) / 2) > 0.5 * _area(s)  # in view in each visit
        assert _target_drawn(s, (off + nxt) / 2) == 0  # and gone between two
    with pytest.raises(ConfigError, match="count"):
        family_b_visits_scenes(4, 0, "easy")


def test_entering_targets_slide_in_from_their_edge() -> None:
    entering = [(s, a) for s in family_b_scenes(6, 30, "easy") for a in _targets(s) if a.enter]
    assert entering
    for s, a in entering:
        w, h = s.size
        x, y = actor_centre(a, a.t_on, w, h)
        extent = a.height * h * (a.aspect if a.enter in ("left", "right") else 1.0)
        edge_in = {"left": x + extent / 2, "right": w - (x - extent / 2),
                   "top": y + extent / 2, "bottom": h - (y - extent / 2)}[a.enter]
        assert edge_in == pytest.approx(INSIDE_AT_EDGE * extent)
        first = (a.waypoints[0][0] * w, a.waypoints[0][1] * h)
        assert actor_centre(a, a.t_on + a.slide_s, w, h) == pytest.approx(first)


def test_occluder_crossing_a_target_hides_some_of_it_never_over_40_percent() -> None:
    scenes = [s for s in _coloured(family_b_scenes(8, 40, "easy")) if s.occluder][:3]
    assert len(scenes) == 3
    for s in scenes:
        o, w, h = s.occluder, *s.size
        assert o is not None
        for target in _targets(s):
            alone = dataclasses.replace(s, actors=(target,), occluder=None, noise=0.0)
            t = (target.t_on + target.t_off) / 2
            full = _mask(render_frame(alone, t), s.target[0]).sum()
            cx, cy = actor_centre(target, t, w, h)
            half = target.height * h * (target.aspect if o.vertical else 1.0) / 2
            losses = []
            for k in np.linspace(-1.0, 1.0, 7):
                mid = ((cx if o.vertical else cy) + k * half) / (w if o.vertical else h)
                post = dataclasses.replace(o, centre=mid, swing=0.0)
                hidden = dataclasses.replace(alone, occluder=post)
                losses.append(1 - _mask(render_frame(hidden, t), s.target[0]).sum() / full)
            assert 0.1 < max(losses) <= 0.4, (s.seed, target.shape, losses)


def test_the_family_renders_every_listed_condition() -> None:
    scenes = family_b_scenes(9, 30, "easy")
    assert {s.backdrop.kind for s in scenes} == set(BACKDROPS)
    assert len({s.size for s in scenes}) >= 6
    assert any(0.35 <= s.lighting.night <= 0.5 for s in scenes)
    assert any(len(_targets(s)) == 2 for s in scenes)
    assert any(s.occluder for s in scenes) and any(s.shake_px > 0 for s in scenes)
    assert all(28 <= s.crf <= 32 and s.noise > 0 for s in scenes)
    heights = [a.height for s in scenes for a in s.actors]
    aspects = [a.aspect for s in scenes for a in s.actors]
    assert min(heights) < 0.1 and max(heights) > 0.25 and 0.06 <= min(heights)
    assert min(aspects) < 0.85 and max(aspects) > 1.25


def test_night_darkens_the_frame_with_a_cool_tint() -> None:
    s = next(s for s in family_b_scenes(9, 30, "easy") if s.lighting.night < 1.0)
    day = render_frame(s, max(s.lighting.dusk - 0.5, 0.0)).reshape(-1, 3).mean(0)
    night = render_frame(s, s.lighting.dark).reshape(-1, 3).mean(0)
    assert night.mean() < 0.6 * day.mean()
    assert night[2] / night[0] > 1.1 * day[2] / day[0]


def test_write_clip_streams_h264_with_keyframes_and_the_truth_sidecar(tmp_path: Path) -> None:
    import av

    s = next(s for s in _coloured(family_b_scenes(5, 24, "easy"))
             if s.occluder is None and s.lighting.night == 1.0)
    s = dataclasses.replace(s, size=(320, 240))
    out = write_clip(s, tmp_path / "clip.mp4", fps=2)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [(f.key_frame, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert len(frames) == 60
    assert [i for i, (key, _) in enumerate(frames) if key] == list(range(0, 60, 4))
    assert frames[0][1].shape == (240, 320, 3)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar == {
        "target": s.question, "events": [list(e) for e in s.events], "family": "b",
        "seed": s.seed, "level": "easy", "duration": 30.0, "fps": 2,
    }
    (on, off), = s.events
    i = int(on + off)  # the frame at the event's middle: t = i / 2
    mid = frames[i][1]
    assert _mask(mid, s.target[0]).sum() > 0.5 * _area(s)
    assert np.abs(mid.astype(int) - render_frame(s, i / 2).astype(int)).mean() < 8
    absent = [rgb for i, (_, rgb) in enumerate(frames) if not s.present(i / 2)]
    assert absent and all(_mask(rgb, s.target[0]).sum() < 0.05 * _area(s) for rgb in absent)


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ConfigError, match="level"):
        family_b_scenes(1, 2, "medium")
    with pytest.raises(ConfigError, match="count"):
        family_b_scenes(1, 0, "easy")
    with pytest.raises(ConfigError, match="fps"):
        write_clip(family_b_scenes(1, 1, "easy")[0], "/nonexistent/x.mp4", fps=0)


def test_import_is_numpy_only_and_independent_of_family_a() -> None:
    code = ("import sys, pipeline.familyb; "
            "bad = [m for m in ('av', 'pipeline.scenes', 'torch') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)
