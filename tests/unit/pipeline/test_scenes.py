"""The synthetic scene generator: determinism, spec ranges, scripted visibility."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.scenes import (
    BACKGROUNDS,
    COLORS,
    FRAME_SIZES,
    MAX_SIZE,
    MIN_SIZE,
    SHAPES,
    captions,
    random_scene,
    render,
    render_labels,
    scripted_scene,
)


def test_same_seed_same_frames_and_different_seed_differs() -> None:
    a, b, c = random_scene(7), random_scene(7), random_scene(8)
    assert a == b
    assert a != c
    for t in (0.0, 3.3, 7.9):
        assert np.array_equal(render(a, t)[0], render(b, t)[0])
        assert render(a, t)[1] == render(b, t)[1]


@pytest.mark.parametrize("seed", range(40))
def test_random_scene_within_spec(seed: int) -> None:
    spec = random_scene(seed, level="hard" if seed % 2 else "easy")
    assert (spec.width, spec.height) in FRAME_SIZES
    assert 1 <= len(spec.objects) <= 4
    assert spec.background.kind in BACKGROUNDS
    for obj in spec.objects:
        assert obj.color in COLORS and obj.shape in SHAPES
        assert MIN_SIZE <= obj.size <= MAX_SIZE
        for x, y in obj.path:
            assert 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0
    img, truth = render(spec, spec.duration / 2)
    assert img.shape == (spec.height, spec.width, 3) and img.dtype == np.uint8
    for o in truth:
        x0, y0, x1, y1 = o.box
        assert 0 <= x0 < x1 <= spec.width and 0 <= y0 < y1 <= spec.height
        assert (y1 - y0) <= MAX_SIZE * spec.height + 2


def test_objects_enter_and_leave() -> None:
    spec = random_scene(3, duration=20.0, n_objects=4)
    counts = [len(render(spec, t)[1]) for t in spec.frame_times(2)]
    assert min(counts) < max(counts)


def test_hard_distractors_share_colour_or_shape_but_not_both() -> None:
    for seed in range(20):
        spec = random_scene(seed, level="hard", n_objects=4, target=("red", "circle"))
        assert (spec.objects[0].color, spec.objects[0].shape) == ("red", "circle")
        for obj in spec.objects[1:]:
            assert (obj.color == "red") != (obj.shape == "circle")


def test_scripted_target_visible_exactly_in_intervals() -> None:
    visible = [(1.0, 2.5), (4.0, 6.0)]
    spec = scripted_scene(("red", "circle"), visible, distractors=3, seed=5, duration=8.0,
                          size=(640, 360), background="clutter")
    for t in spec.frame_times(25):
        expected = any(a <= t < b for a, b in visible)
        _, labels, truth = render_labels(spec, t)
        present = [o for o in truth if (o.color, o.shape) == ("red", "circle")]
        assert bool(present) == expected, t
        if expected:  # drawn on top of everything: really on screen
            assert (labels == present[0].index).sum() > 50
    for obj in spec.objects:
        if (obj.color, obj.shape) != ("red", "circle"):
            assert (obj.color, obj.shape) != ("red", "circle")


def test_scripted_hard_distractors_share_one_attribute() -> None:
    spec = scripted_scene(("blue", "square"), [(0.0, 1.0)], distractors=4, seed=1, level="hard")
    for obj in spec.objects[1:]:
        assert (obj.color == "blue") != (obj.shape == "square")


def test_object_pixels_have_its_colour() -> None:
    spec = scripted_scene(("green", "triangle"), [(0.0, 10.0)], distractors=0, seed=2,
                          background="noise", size=(1280, 720))
    img, truth = render(spec, 5.0)
    cx, cy = truth[0].centre
    assert tuple(img[int(cy), int(cx)]) == COLORS["green"]


def test_out_size_is_a_squash_of_the_frame() -> None:
    spec = scripted_scene(("red", "square"), [(0.0, 10.0)], distractors=0, seed=4,
                          size=(1280, 720))
    _, full = render(spec, 3.0)
    _, small = render(spec, 3.0, out_size=(96, 96))
    (fx, fy), (sx, sy) = full[0].centre, small[0].centre
    assert abs(fx / 1280 - sx / 96) < 1e-6 and abs(fy / 720 - sy / 96) < 1e-6


def test_clutter_never_contains_a_full_palette_colour() -> None:
    spec = random_scene(11, background="clutter", size=(640, 360))
    empty = spec.__class__(**{**spec.__dict__, "objects": ()})
    img, _ = render(empty, 0.0)
    pixels = {tuple(p) for p in img.reshape(-1, 3)}
    assert not pixels & set(COLORS.values())


def test_captions_and_bad_input() -> None:
    assert len(captions()) == 21 and "a red circle" in captions()
    with pytest.raises(ConfigError):
        random_scene(0, size=(100, 100))
    with pytest.raises(ConfigError):
        scripted_scene(("purple", "circle"))
    with pytest.raises(ConfigError):
        random_scene(0, level="medium")  # type: ignore[arg-type]
    for bad, field in (({"duration": -1.0}, "duration"), ({"duration": 0.0}, "duration"),
                       ({"fps": 0.0}, "fps"), ({"distractors": -1}, "distractors"),
                       ({"distractors": 9}, "distractors")):
        with pytest.raises(ConfigError, match=f"^{field}: "):
            scripted_scene(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="^duration: "):
        random_scene(0, duration=-5.0)


def test_import_does_not_pull_av_or_torch() -> None:
    import subprocess
    import sys

    code = "import sys, pipeline.scenes; print('av' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_a_stretched_or_turned_object_keeps_its_area_and_round_trips() -> None:
    from dataclasses import replace

    from pipeline.scenes import SceneSpec

    spec = scripted_scene(("red", "square"), [(0.0, 10.0)], distractors=0, seed=4,
                          background="plain", size=(640, 640))
    obj = spec.objects[0]

    def area_and_box(**change: float) -> tuple[int, tuple[int, int, int, int]]:
        _, labels, truth = render_labels(replace(spec, objects=(replace(obj, **change),)), 3.0)
        return int((labels == 0).sum()), truth[0].box

    upright, box = area_and_box()
    turned, turned_box = area_and_box(tilt=30.0)
    wide, wide_box = area_and_box(stretch=4 / 3)
    assert abs(turned / upright - 1) < 0.03  # the same square, turned
    assert turned_box[2] - turned_box[0] > 1.3 * (box[2] - box[0])  # its box grows
    assert abs(wide / upright - 4 / 3) < 0.03 and wide_box[3] - wide_box[1] == box[3] - box[1]
    changed = replace(spec, objects=(replace(obj, stretch=0.8, tilt=-12.5),))
    assert SceneSpec.from_dict(changed.to_dict()) == changed
