"""``--clip auto``: the first real CLIP found locally, else shapes-demo with a warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.models import discover


def _clip_folder(folder: Path, embed_dim: int, weights: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / discover.CONFIG).write_text(json.dumps({"model_cfg": {"embed_dim": embed_dim}}))
    if weights:
        (folder / discover.WEIGHTS[0]).write_bytes(b"\0")
    return folder


@pytest.fixture(autouse=True)
def _empty_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWATCH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def test_nothing_local_falls_back_to_shapes_demo_with_one_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _clip_folder(tmp_path / "models" / "tinyclip-s0", embed_dim=32)  # a test-sized model
    _clip_folder(tmp_path / "models" / "no-weights", embed_dim=512, weights=False)
    with caplog.at_level(logging.WARNING):
        assert discover.resolve("auto") == "shapes-demo"
    (record,) = caplog.records
    assert "coloured shapes" in record.getMessage() and "\n" not in record.getMessage()
    assert discover.resolve("ViT-B-32") == "ViT-B-32"  # an explicit spec is kept


def test_models_dir_comes_before_the_hub_cache(tmp_path: Path) -> None:
    snap = tmp_path / "hub" / "models--laion--CLIP-ViT-B-32" / "snapshots" / "abc123"
    _clip_folder(snap, embed_dim=512)
    assert discover.resolve("auto") == "hf-hub:laion/CLIP-ViT-B-32"
    local = _clip_folder(tmp_path / "models" / "my-clip", embed_dim=768)
    assert discover.local_clips() == [f"local-dir:{local}", "hf-hub:laion/CLIP-ViT-B-32"]
    assert discover.resolve("auto") == f"local-dir:{local}"
