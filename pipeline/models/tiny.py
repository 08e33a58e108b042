"""Tiny seeded random open_clip models saved as model folders (tests, soaks, speed checks).

They stand in where any CLIP-shaped model will do and no weights may be downloaded:
the same seed gives the same weights in every process, so separate workers of one
test agree on every embedding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import open_clip
import torch

TINY_CLIP_CFG: dict[str, Any] = {
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
WEIGHTS = "open_clip_pytorch_model.bin"


def save_tiny_clip(directory: Path, *, seed: int = 0, name: str = "tinyclip") -> str:
    """Write (once) a seeded random open_clip folder; returns its ``local-dir:`` spec."""
    local = directory / name
    if not (local / WEIGHTS).is_file():
        local.mkdir(parents=True, exist_ok=True)
        pre = {"mean": [0.5] * 3, "std": [0.25] * 3}
        cfg = {"model_cfg": TINY_CLIP_CFG, "preprocess_cfg": pre}
        (local / "open_clip_config.json").write_text(json.dumps(cfg))
        torch.manual_seed(seed)
        model = open_clip.create_model(f"local-dir:{local}", load_weights=False)
        torch.save(model.state_dict(), local / WEIGHTS)
    return f"local-dir:{local}"
