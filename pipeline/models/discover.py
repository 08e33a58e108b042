"""``--clip auto``: the first real CLIP on this machine, else the bundled shapes-demo.

Looked for, in order, without any download:

1. ``$FEEDWATCH_MODELS_DIR``: each sub-folder holding ``open_clip_config.json`` and
   its weights (``local-dir:PATH``);
2. the Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
   ``~/.cache/huggingface/hub``): each cached open_clip repo with its weights
   (``hf-hub:ORG/REPO``).

Test-sized random models (embedding width under :data:`MIN_EMBED_DIM`, such as the
folders :mod:`pipeline.models.tiny` builds) are not real CLIPs and are skipped. When
nothing is found, ``shapes-demo`` is used with a one-line warning: it knows only
coloured shapes. Imports no torch.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

AUTO = "auto"
FALLBACK = "shapes-demo"
CONFIG = "open_clip_config.json"
WEIGHTS = ("open_clip_pytorch_model.bin", "open_clip_model.safetensors")
MIN_EMBED_DIM = 256
WARNING = (
    "--clip auto: no real CLIP in FEEDWATCH_MODELS_DIR or the Hugging Face cache; using "
    "shapes-demo, which knows only coloured shapes (pass --clip to choose a model)"
)


def _real_clip(folder: Path) -> bool:
    """A folder with an open_clip config, its weights, and a full-size embedding."""
    if not (folder / CONFIG).is_file() or not any((folder / w).is_file() for w in WEIGHTS):
        return False
    try:
        cfg = json.loads((folder / CONFIG).read_text())
        dim = int(cfg.get("model_cfg", {}).get("embed_dim", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    return dim >= MIN_EMBED_DIM


def _models_dir() -> Iterator[str]:
    root = os.environ.get("FEEDWATCH_MODELS_DIR", "").strip()
    if not root or not Path(root).expanduser().is_dir():
        return
    for folder in sorted(Path(root).expanduser().iterdir()):
        if folder.is_dir() and _real_clip(folder):
            yield f"local-dir:{folder}"


def hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE", "").strip():
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "huggingface") / "hub"


def _hub() -> Iterator[str]:
    root = hub_cache()
    if not root.is_dir():
        return
    for repo in sorted(root.glob("models--*")):
        snapshots = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
        if any(_real_clip(s) for s in snapshots):
            yield "hf-hub:" + "/".join(repo.name.split("--")[1:])


def local_clips() -> list[str]:
    """Every real CLIP found locally, in the order ``auto`` tries them."""
    return [*_models_dir(), *_hub()]


def resolve(spec: str) -> str:
    """``spec`` itself, or for ``auto`` the first local real CLIP (else shapes-demo, warned)."""
    if spec.strip() != AUTO:
        return spec
    found = local_clips()
    if found:
        log.info("--clip auto: using %s", found[0])
        return found[0]
    log.warning(WARNING)
    return FALLBACK
