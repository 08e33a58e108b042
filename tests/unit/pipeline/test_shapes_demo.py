"""The bundled shapes-demo CLIP: open_clip local-dir format, ≤ 10 MB, reloads exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
ASSETS = Path(__file__).resolve().parents[3] / "pipeline" / "models" / "assets" / "shapes-demo"


def test_files_and_size() -> None:
    cfg = json.loads((ASSETS / "open_clip_config.json").read_text())
    assert cfg["preprocess_cfg"]["resize_mode"] == "squash"
    assert cfg["model_cfg"]["vision_cfg"]["pool_type"] == "avg"
    total = sum(p.stat().st_size for p in ASSETS.iterdir())
    assert total <= 10 * 1024 * 1024


def test_open_clip_local_dir_load_matches_config_plus_weights() -> None:
    import open_clip
    import torch

    from pipeline.models.train_shapes import embed_images, load, preprocess
    from pipeline.scenes import random_scene, render

    ref = load(ASSETS)
    loaded = open_clip.create_model(f"local-dir:{ASSETS}").eval()
    tok = open_clip.get_tokenizer(f"local-dir:{ASSETS}")
    frames = np.stack([render(random_scene(s), 3.0, out_size=(96, 96))[0] for s in range(3)])
    x = preprocess(frames)
    with torch.inference_mode():
        (g1, p1), (g2, p2) = embed_images(ref, x), embed_images(loaded, x)
        t1 = ref.encode_text(tok(["a red circle"]))
        t2 = loaded.encode_text(tok(["a red circle"]))
    assert torch.equal(g1, g2) and torch.equal(p1, p2) and torch.equal(t1, t2)


def test_encoder_ranks_the_asked_object_first() -> None:
    from pipeline.models.clip_encoder import ClipEncoder
    from pipeline.scenes import render, scripted_scene

    enc = ClipEncoder.from_spec("shapes-demo", "cpu")
    spec = scripted_scene(("red", "circle"), [(2.0, 4.0)], distractors=2, seed=1, duration=6.0)
    frames = [render(spec, t)[0] for t in (0.5, 1.5, 2.5, 3.5, 4.5, 5.5)]
    g, _ = enc.encode_frames(frames)
    s = g @ enc.encode_text(["a red circle"])[0]
    assert set(np.argsort(-s)[:2]) == {2, 3}
