"""The open_clip adapter on a tiny random model: shapes, squash, text, cache, loading."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from pipeline.errors import ModelLoadError  # noqa: E402
from pipeline.models import clip_encoder  # noqa: E402
from pipeline.models.clip_encoder import ClipEncoder  # noqa: E402

pytestmark = pytest.mark.slow

ARCH = "fw-tiny-test-vit"
CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {
        "image_size": [32, 56],
        "patch_size": 8,
        "width": 32,
        "layers": 1,
        "head_width": 16,
    },
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny random CLIP, registered as an architecture and saved three ways."""
    root = tmp_path_factory.mktemp("tinyclip")
    (root / f"{ARCH}.json").write_text(json.dumps(CFG))
    open_clip.add_model_config(root / f"{ARCH}.json")
    torch.manual_seed(0)
    model = open_clip.create_model(ARCH)
    torch.save(model.state_dict(), root / "ckpt.pt")
    local = root / "local"
    local.mkdir()
    pre = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    (local / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": CFG, "preprocess_cfg": pre})
    )
    torch.save(model.state_dict(), local / "open_clip_pytorch_model.bin")
    return {"root": root, "ckpt": root / "ckpt.pt", "local": local}


@pytest.fixture(scope="module")
def encoder(tiny: dict[str, Any]) -> ClipEncoder:
    return ClipEncoder.from_spec(f"{ARCH}@{tiny['ckpt']}", device="cpu", batch_size=3)


def _frames(n: int, h: int = 45, w: int = 80, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_batches_give_normalised_globals_and_a_true_2d_grid(encoder: ClipEncoder) -> None:
    globals_, patches = encoder.encode_frames(_frames(7))
    assert encoder.grid == (4, 7) and encoder.dim == 32 and encoder.input_size == (32, 56)
    assert globals_.shape == (7, 32) and patches.shape == (7, 4, 7, 32)
    assert globals_.dtype == np.float32 and patches.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(globals_, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(patches, axis=-1), 1.0, atol=1e-5)


def test_batching_does_not_change_results_and_counts_passes(encoder: ClipEncoder) -> None:
    frames = _frames(5, seed=3)
    before = encoder.vision_frames_encoded
    g_batched, p_batched = encoder.encode_frames(frames)
    g_single = np.concatenate([encoder.encode_frames([f])[0] for f in frames])
    np.testing.assert_allclose(g_batched, g_single, atol=1e-5)
    assert encoder.vision_frames_encoded - before == 10
    assert encoder.encode_frames([])[1].shape == (0, 4, 7, 32)


def test_global_is_the_models_image_embedding(encoder: ClipEncoder, tiny: dict[str, Any]) -> None:
    frame = _frames(1, 32, 56)[0]
    model = open_clip.create_model(ARCH, pretrained=str(tiny["ckpt"])).eval()
    pixels = encoder._preprocess(frame)[None]
    with torch.no_grad():
        ref = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1).numpy()
    np.testing.assert_allclose(encoder.encode_frames([frame])[0], ref, atol=1e-5)


def test_patches_are_projected_tokens_after_ln_post(
    encoder: ClipEncoder, tiny: dict[str, Any]
) -> None:
    frame = _frames(1, seed=9)[0]
    model = open_clip.create_model(ARCH, pretrained=str(tiny["ckpt"])).eval()
    vis = model.visual
    with torch.no_grad():
        x = vis.transformer(vis._embeds(encoder._preprocess(frame)[None]))
        ref = torch.nn.functional.normalize(vis.ln_post(x[:, 1:]) @ vis.proj, dim=-1)
    patches = encoder.encode_frames([frame])[1]
    np.testing.assert_allclose(patches.reshape(1, -1, 32), ref.numpy(), atol=1e-5)


def test_wide_frames_are_squashed_not_centre_cropped(encoder: ClipEncoder) -> None:
    dark = np.zeros((45, 200, 3), np.uint8)  # wider than the model's 32x56 input
    lit = dark.copy()
    lit[:, :25] = 255  # an object in the leftmost 12.5%: a centre crop would cut it off
    _, p_dark = encoder.encode_frames([dark])
    _, p_lit = encoder.encode_frames([lit])
    change = np.linalg.norm(p_lit[0] - p_dark[0], axis=-1)  # (h, w)
    assert change[:, 0].mean() > 0.1
    assert change[:, 0].mean() > 2 * change[:, -1].mean()
    pixels = encoder._preprocess(lit)
    assert tuple(pixels.shape) == (3, 32, 56)
    assert pixels[:, :, :6].mean() > pixels[:, :, 8:].mean()


def test_text_is_normalised_and_long_questions_are_truncated(encoder: ClipEncoder) -> None:
    short = "a red circle " * 10  # already longer than the 16-token context
    embs = encoder.encode_text(["a red circle", "x" * 10_000, short * 200])
    assert embs.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(embs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embs[2], encoder.encode_text([short])[0], atol=1e-6)
    assert not np.allclose(embs[0], embs[2])


def test_text_embeddings_are_cached_per_string(
    encoder: ClipEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clip_encoder, "TEXT_CACHE_SIZE", 2)
    first = encoder.encode_text(["cache a", "cache b"])
    count = encoder.texts_encoded
    again = encoder.encode_text(["cache b", "cache a", "cache a"])
    assert encoder.texts_encoded == count
    np.testing.assert_array_equal(again[0], first[1])
    encoder.encode_text(["cache c"])  # evicts the least recently used: "cache b"
    encoder.encode_text(["cache a"])
    assert encoder.texts_encoded == count + 1
    encoder.encode_text(["cache b"])
    assert encoder.texts_encoded == count + 2


def test_a_call_larger_than_the_cache_evicts_nothing_it_returns(
    encoder: ClipEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clip_encoder, "TEXT_CACHE_SIZE", 2)
    old = encoder.encode_text(["kept a"])
    embs = encoder.encode_text(["kept a", "new b", "new c", "new d"])
    assert embs.shape[0] == 4
    np.testing.assert_array_equal(embs[0], old[0])


def test_saved_checkpoint_and_local_dir_give_identical_embeddings(
    encoder: ClipEncoder, tiny: dict[str, Any]
) -> None:
    frames = _frames(2, seed=5)
    other = ClipEncoder.from_spec(f"{ARCH}:{tiny['ckpt']}", device="cpu")
    np.testing.assert_array_equal(encoder.encode_frames(frames)[0], other.encode_frames(frames)[0])
    local = ClipEncoder.from_spec(f"local-dir:{tiny['local']}", device="cpu")
    np.testing.assert_array_equal(
        encoder.encode_text(["a blue square"]), local.encode_text(["a blue square"])
    )
    assert local.model_id == f"local-dir:{tiny['local']}"
    assert float(local._mean[0]) == 0.5 and float(local._std[0]) == 0.25


def test_architecture_only_is_random_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.models.clip_encoder"):
        enc = ClipEncoder.from_spec(ARCH, device="cpu")
    assert enc.grid == (4, 7)
    assert any("random weights" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("no-such-arch", "unknown open_clip architecture"),
        (f"{ARCH}@/nonexistent/ckpt.pt", "does not exist"),
        ("local-dir:/nonexistent", "open_clip_config.json"),
        ("ViT-B-32:not-a-tag", "tags:"),
    ],
)
def test_bad_specs_raise_model_load_error(spec: str, needle: str) -> None:
    with pytest.raises(ModelLoadError, match=needle):
        ClipEncoder.from_spec(spec, device="cpu")


def test_pretrained_tag_absent_from_the_cache_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ModelLoadError, match="not in the local cache"):
        ClipEncoder.from_spec("ViT-B-32:laion2b_s34b_b79k", device="cpu")


def test_pretrained_tag_loads_from_the_hub_cache(
    tiny: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoder: ClipEncoder
) -> None:
    snap = tmp_path / "hub" / "models--fw--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("abc123")
    (snap / "open_clip_pytorch_model.bin").write_bytes(tiny["ckpt"].read_bytes())
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    cfg = {"hf_hub": "fw/tiny/", "mean": (0.48145466, 0.4578275, 0.40821073)}
    monkeypatch.setattr(
        open_clip, "get_pretrained_cfg", lambda arch, tag: cfg if tag == "t" else {}
    )
    enc = ClipEncoder.from_spec(f"{ARCH}:t", device="cpu")
    frames = _frames(1, seed=11)
    np.testing.assert_array_equal(enc.encode_frames(frames)[0], encoder.encode_frames(frames)[0])
    with pytest.raises(ModelLoadError, match="hf-hub:fw/tiny is not in the local hub cache"):
        ClipEncoder.from_spec("hf-hub:fw/tiny", device="cpu")
    (snap / "open_clip_config.json").write_text(json.dumps({"model_cfg": CFG}))
    hub = ClipEncoder.from_spec("hf-hub:fw/tiny", device="cpu")
    np.testing.assert_array_equal(hub.encode_text(["a"]), encoder.encode_text(["a"]))


def test_int8_precision_quantises_the_vision_mlps_and_keeps_embeddings(
    encoder: ClipEncoder, tiny: dict[str, Any]
) -> None:
    q = ClipEncoder.from_spec(f"{ARCH}@{tiny['ckpt']}", device="cpu", precision="int8")
    assert q.precision == "int8" and encoder.precision == "fp32"
    kinds = {type(m).__module__ for m in q._visual.modules()}
    assert any("quantized" in k for k in kinds)
    frames = _frames(3, seed=5)
    (g, p), (gq, pq) = encoder.encode_frames(frames), q.encode_frames(frames)
    assert (g * gq).sum(axis=1).min() > 0.98 and (p * pq).sum(axis=-1).min() > 0.95
    np.testing.assert_allclose(
        q.encode_text(["a red circle"]), encoder.encode_text(["a red circle"]), atol=1e-6
    )


def test_bad_precision_is_a_config_error(tiny: dict[str, Any]) -> None:
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="precision"):
        ClipEncoder.from_spec(f"{ARCH}@{tiny['ckpt']}", device="cpu", precision="int4")


def test_linear_attention_twin_gives_the_same_embeddings(
    encoder: ClipEncoder, tiny: dict[str, Any]
) -> None:
    from pipeline.models.int8 import LinearSelfAttention, linear_attention

    model = open_clip.create_model(ARCH, pretrained=str(tiny["ckpt"])).eval()
    linear_attention(model.visual)
    assert all(isinstance(b.attn, LinearSelfAttention) for b in model.visual.transformer.resblocks)
    twin = ClipEncoder(model, open_clip.get_tokenizer(ARCH), model_id="twin")
    frames = _frames(3, seed=7)
    for a, b in zip(encoder.encode_frames(frames), twin.encode_frames(frames), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
