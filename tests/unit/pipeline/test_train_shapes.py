"""The shapes-demo training script: seeded pool, mirrored labels, schedule, a short run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_pool_is_seeded_and_labels_match_frames() -> None:
    import torch

    from pipeline.models.train_shapes import INPUT, KINDS, render_pool

    a, b = render_pool(12, 3, 0.7, workers=1), render_pool(12, 3, 0.7, workers=1)
    assert torch.equal(a.pixels, b.pixels) and torch.equal(a.cover, b.cover)
    assert a.pixels.shape == (12, 3, INPUT, INPUT) and a.pixels.dtype == torch.uint8
    assert a.present.shape == (12, len(KINDS) + 1)
    # "a background" is positive exactly when no object is present
    assert torch.equal(a.present[:, -1] > 0, a.present[:, :-1].sum(1) == 0)
    # an object counted as present covers some patch, and only present kinds do
    covered = a.cover.float().amax(dim=1)[:, :-1] > 0
    assert torch.equal(covered, a.present[:, :-1] > 0)
    assert not torch.equal(render_pool(12, 4, 0.7, workers=1).pixels, a.pixels)


def test_close_ups_are_cut_from_a_larger_render_with_their_labels() -> None:
    import numpy as np

    from pipeline.models.train_shapes import RENDER, _sample

    full = [_sample(s, 0.7) for s in range(40)]
    near = [_sample(s, 0.7, zoom_share=1.0) for s in range(40)]
    for rgb, labels, _, kinds in near:
        assert rgb.shape == (RENDER, RENDER, 3) and labels.shape == (RENDER, RENDER)
        assert labels.max() < len(kinds)
    # the same objects fill more of a close-up than of the full frame
    def mean_object_share(samples: list) -> float:
        return float(np.mean([(s[1] >= 0).mean() for s in samples]))
    assert mean_object_share(near) > 2 * mean_object_share(full)


def test_mirrored_frames_carry_mirrored_patch_labels() -> None:
    import torch

    from pipeline.models.train_shapes import INPUT, PATCH, normalise, pool_batch, render_pool

    pool = render_pool(4, 0, 0.5, workers=1)
    index = torch.arange(4)
    flip = torch.tensor([True, False, True, False])
    pixels, present, cover = pool_batch(pool, index, flip)
    g = INPUT // PATCH
    assert torch.equal(pixels[0], normalise(pool.pixels[:1].flip(3))[0])
    assert torch.equal(pixels[1], normalise(pool.pixels[1:2])[0])
    grid = pool.cover[0].float().view(g, g, -1)
    assert torch.equal(cover[0].view(g, g, -1), grid.flip(1))
    assert torch.equal(cover[1], pool.cover[1].float())
    assert torch.equal(present, pool.present)


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    from pipeline.models.train_shapes import WARMUP, lr_at

    assert lr_at(0, 1000, 1.0) == pytest.approx(1 / WARMUP)
    assert lr_at(WARMUP - 1, 1000, 1.0) == pytest.approx(1.0)
    assert lr_at(WARMUP, 1000, 1.0) == pytest.approx(1.0)
    assert lr_at(999, 1000, 1.0) < 1e-4
    mid = lr_at((1000 + WARMUP) // 2, 1000, 1.0)
    assert mid == pytest.approx(0.5, abs=0.01)


def test_short_run_learns_and_saves_a_loadable_folder(tmp_path: Path) -> None:
    import torch

    from pipeline.models.clip_encoder import ClipEncoder
    from pipeline.models.train_shapes import Recipe, train

    torch.set_num_threads(2)
    out = tmp_path / "m"
    train(out, Recipe(steps=60, batch=32, pool=256, lr=3e-3), workers=1, log_every=10)
    meta = json.loads((out / "training.json").read_text())
    losses = [row["loss"] for row in meta["log"]]
    assert meta["recipe"]["steps"] == 60 and len(losses) >= 6
    assert min(losses[-2:]) < 0.8 * losses[0]  # it learns something on the pool
    enc = ClipEncoder.from_spec(f"local-dir:{out}", "cpu")
    g, p = enc.encode_frames([torch.zeros(90, 160, 3, dtype=torch.uint8).numpy()])
    assert g.shape == (1, 64) and p.shape == (1, 8, 8, 64)


def test_hard_negative_weight_falls_on_absent_captions_sharing_colour_or_shape() -> None:
    import torch

    from pipeline.models.train_shapes import KINDS, negative_weights

    present = torch.zeros(1, len(KINDS) + 1)
    present[0, KINDS.index(("white", "circle"))] = 1.0
    w = negative_weights(present, 4.0)
    assert w is not None and negative_weights(present, 1.0) is None

    def weight(kind: tuple[str, str]) -> float:
        return float(w[0, KINDS.index(kind)])

    assert weight(("white", "square")) == weight(("red", "circle")) == 4.0
    assert weight(("red", "square")) == 1.0  # shares neither
    assert weight(("white", "circle")) == 1.0  # present: a positive
    assert float(w[0, -1]) == 1.0  # "a background"


def test_relit_frames_keep_their_size_and_are_reproducible() -> None:
    import torch

    from pipeline.models.augment import LIGHT, photometric

    pixels = torch.full((64, 3, 8, 8), 200, dtype=torch.uint8)
    same = photometric(pixels, 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(same, pixels)  # share 0: untouched, nothing drawn
    a = photometric(pixels, 1.0, torch.Generator().manual_seed(1))
    b = photometric(pixels, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == pixels.shape
    means = a.float().mean(dim=(1, 2, 3)) / 200
    # every frame is re-lit within the light range (tint, contrast and noise widen it)
    assert means.min() < 0.45 and means.max() > 0.9
    assert means.min() >= LIGHT[0] * 0.9 and means.max() <= min(LIGHT[1] * 1.1, 255 / 200)
    half = photometric(pixels, 0.5, torch.Generator().manual_seed(2))
    kept = (half == pixels).flatten(1).all(dim=1).float().mean()
    assert 0.25 < kept < 0.75  # about half of the frames untouched


def test_shape_jitter_stretches_and_turns_a_share_of_the_objects_seeded() -> None:
    import math
    import random

    from pipeline.models.train_shapes import STRETCH, TILT, _sample, jitter_shapes
    from pipeline.scenes import random_scene

    spec = random_scene(5, duration=10.0, size=(640, 360), level="hard")
    assert jitter_shapes(spec, random.Random(1), 0.0) is spec
    every = jitter_shapes(spec, random.Random(1), 1.0)
    assert every == jitter_shapes(spec, random.Random(1), 1.0)
    for before, after in zip(spec.objects, every.objects, strict=True):
        assert (after.color, after.shape, after.path) == (before.color, before.shape, before.path)
        assert STRETCH[0] <= math.log(after.stretch) <= STRETCH[1]
        assert after.tilt == 0.0 if after.shape == "circle" else abs(after.tilt) <= TILT
    # frames drawn without jitter are the frames of before; with it, their kinds are kept
    for s in range(6):
        plain, jittered = _sample(s, 0.7), _sample(s, 0.7, shape_jitter=1.0)
        assert plain[3] == jittered[3]
        assert (plain[0] == _sample(s, 0.7, shape_jitter=0.0)[0]).all()
    assert any((_sample(s, 0.7)[0] != _sample(s, 0.7, shape_jitter=1.0)[0]).any()
               for s in range(6))


def test_anchor_charges_only_present_captions_scored_below_the_starting_weights() -> None:
    import torch

    from pipeline.models.train_shapes import _anchor

    present = torch.tensor([[1.0, 0.0, 0.0]])
    cover = torch.tensor([[[0.6, 0.0, 0.0], [0.2, 0.0, 0.0]]])  # half a cell or more counts
    teacher = (torch.tensor([[0.40, 0.30, 0.10]]), torch.tensor([[[0.30, 0.2, 0.1],
                                                                  [0.30, 0.2, 0.1]]]))
    same = _anchor(teacher[0].clone(), teacher[1].clone(), teacher, present, cover)
    assert float(same) == 0.0
    # look-alike captions (absent) pushed down cost nothing; a present one scored 0.1
    # lower costs 0.1² (global) and so does its covered patch
    g = torch.tensor([[0.30, -0.5, -0.5]])
    p = torch.tensor([[[0.20, -0.5, -0.5], [-0.9, -0.5, -0.5]]])
    assert float(_anchor(g, p, teacher, present, cover)) == pytest.approx(0.02)
    # above the starting weights: nothing to charge
    assert float(_anchor(g + 0.2, p + 0.2, teacher, present, cover)) == 0.0


def test_foreign_captions_name_nothing_in_the_world_and_are_seeded() -> None:
    import random

    from pipeline.models.train_shapes import FOREIGN, KINDS, TEMPLATES, caption_texts, foreign_texts
    from pipeline.scenes import COLORS, SHAPES

    assert not set(FOREIGN) & (set(COLORS) | set(SHAPES)) and len(set(FOREIGN)) == len(FOREIGN)
    world = set(caption_texts(TEMPLATES[5]))
    texts = foreign_texts(TEMPLATES[5], 200, random.Random(3))
    assert texts == foreign_texts(TEMPLATES[5], 200, random.Random(3))
    assert not world & set(texts)
    for text in texts:
        words = text.rstrip("?").split()
        assert text.startswith("is there a ") and any(w in FOREIGN for w in words)
    # colour, shape and both replaced all occur
    kept_colour = sum(any(f" {c} " in t for c in COLORS) for t in texts)
    kept_shape = sum(any(t.endswith(f" {s}?") for s in SHAPES) for t in texts)
    assert 40 < kept_colour < 120 and 40 < kept_shape < 120 and len(KINDS) == 21


def test_text_only_training_keeps_the_image_tower_and_learns_foreign_captions_absent(
    tmp_path: Path,
) -> None:
    import torch
    import torch.nn.functional as F

    from pipeline.models.train_shapes import (
        FOREIGN,
        Recipe,
        embed_images,
        load,
        render_pool,
        tokenizer,
        train,
    )

    torch.set_num_threads(2)
    init, out = tmp_path / "init", tmp_path / "m"
    train(init, Recipe(steps=40, batch=32, pool=256, lr=3e-3), workers=1, log_every=20)
    train(out, Recipe(steps=60, batch=32, pool=256, lr=3e-3, init=str(init), foreign=32,
                      text_only=True, text_anchor=1.0, seed=1), workers=1, log_every=20)
    before, after = load(init), load(out)
    vb, va = before.visual.state_dict(), after.visual.state_dict()
    assert all(torch.equal(vb[k], va[k]) for k in vb)  # image tower frozen
    pixels = render_pool(64, 5, 0.5, workers=1).pixels
    texts = [f"a {w} {s}" for w in FOREIGN[:20] for s in ("circle", "square")]
    with torch.no_grad():
        x = (pixels.float() / 255 - 0.5) / 0.25
        g, _ = embed_images(before, x)

        def mean_cos(model: object) -> float:
            t = F.normalize(model.encode_text(tokenizer()(texts)), dim=-1)  # type: ignore[attr-defined]
            return float((g @ t.T).mean())

        assert mean_cos(after) < mean_cos(before) - 0.05
