"""Tiny seeded random models saved as model folders (tests, soaks, speed checks, demos).

They stand in where any CLIP-shaped model will do and no weights may be downloaded:
the same seed gives the same weights in every process, so separate workers of one
test agree on every embedding.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


TINY_LLAVA = "tiny-llava"
TINY_LLAVA_REVISION = 1  # bump when the config below changes: a new folder is built
_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", "<image>")
_WORDS = (
    "yes no user assistant answer or first is there a an the in of on at by to it "
    "frame scene left right top bottom middle edge door exit next near moving stay stays "
    "appeared has have how many are does alert me when shows up what where which object "
    "stands standing person people forklift car in front visible empty nothing"
)
TINY_VISION_CFG: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 64,
    "patch_size": 8,
}
TINY_TEXT_CFG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
}


def tiny_llava_vocab() -> list[str]:
    """Special tokens, then prompt words, yes/no and every synthetic-scene caption word."""
    from pipeline.scenes import COLORS, SHAPES

    words = [*_WORDS.split(), *COLORS, *SHAPES, *".,?:!;'\"()-"]
    return list(dict.fromkeys([*_SPECIALS, *words]))


def default_models_dir() -> Path:
    """Where built tiny models live: ``$FEEDWATCH_MODELS_DIR`` or ``~/.cache/feedwatch/models``."""
    env = os.environ.get("FEEDWATCH_MODELS_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "feedwatch" / "models"


def save_tiny_llava(directory: Path | None = None, *, seed: int = 0) -> Path:
    """Build (once) a seeded random LLaVA folder from a config; returns the folder.

    Same seed, same weights in every process, no download: a vision tower of
    64 px / 8 px patches (an 8×8 token grid), a two-layer Llama and a word-level
    tokenizer. Written to a temporary folder and renamed, so processes building it
    at the same time all end up reading one complete folder.
    """
    root = directory or default_models_dir()
    local = root / f"{TINY_LLAVA}-r{TINY_LLAVA_REVISION}-s{seed}"
    if (local / "config.json").is_file():
        return local
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{local.name}-", dir=root))
    try:
        _write_tiny_llava(staging, seed)
        os.replace(staging, local)
    except OSError:
        if not (local / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return local


def _write_tiny_llava(folder: Path, seed: int) -> None:
    import transformers

    tokenizer = _word_tokenizer(tiny_llava_vocab())
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _SPECIALS}
    text = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=ids["<s>"],
        eos_token_id=ids["</s>"],
        pad_token_id=ids["<pad>"],
        **TINY_TEXT_CFG,
    )
    config = transformers.LlavaConfig(
        vision_config=transformers.CLIPVisionConfig(**TINY_VISION_CFG),
        text_config=text,
        image_token_id=ids["<image>"],  # type: ignore[call-arg]
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.LlavaForConditionalGeneration(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    side = TINY_VISION_CFG["image_size"]
    transformers.CLIPImageProcessor(
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.25, 0.25, 0.25],
    ).save_pretrained(folder)


def _word_tokenizer(vocab: list[str]) -> Any:
    import tokenizers
    import transformers
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

    index = {w: i for i, w in enumerate(vocab)}
    tok = tokenizers.Tokenizer(models.WordLevel(index, unk_token="<unk>"))  # noqa: S106
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", index["<s>"])]
    )
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    return transformers.PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, padding_side="left", **specials
    )
