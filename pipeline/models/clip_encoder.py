"""open_clip image/text encoder adapter: one vision pass per frame, cached text.

Model specs (``ClipEncoder.from_spec``):

* ``ViT-B-32`` — an open_clip architecture with random weights (warns);
* ``ViT-B-32:laion2b_s34b_b79k`` — a pretrained tag, loaded from the local cache
  only (never downloads; ModelLoadError when the weights are not cached);
* ``ViT-B-32@/path/to/checkpoint.pt`` — an architecture plus a checkpoint file
  (``ARCH:/path`` also works when the path is an existing file);
* ``local-dir:PATH`` — an open_clip hub-style folder (open_clip_config.json + weights);
* ``hf-hub:ORG/REPO`` — such a folder already in the local Hugging Face cache;
* ``shapes-demo`` — the bundled tiny CLIP trained on synthetic scenes;
* ``auto`` — the first real CLIP found locally, else shapes-demo with a warning
  (:mod:`pipeline.models.discover`).

Frames are **squashed** to the model's input size (no centre crop, no letterbox):
the patch grid covers the whole frame, so grid cell (i, j) of an h×w grid maps to
rows [i/h, (i+1)/h) and columns [j/w, (j+1)/w) of the original frame, whatever its
aspect. Patch embeddings are the vision transformer's patch tokens after
``ln_post``, projected with ``visual.proj`` into the joint space and normalised.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer

from pipeline.errors import ConfigError, ModelLoadError
from pipeline.models import discover
from pipeline.models.int8 import quantize_vision_int8
from pipeline.types import FloatArray, ImageArray

log = logging.getLogger(__name__)

SHAPES_DEMO = "shapes-demo"
LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
TEXT_CACHE_SIZE = 4096
CALIBRATION_FILE = "feedwatch_calibration.json"
PRECISIONS = ("fp32", "int8")
CPU_BATCH, GPU_BATCH = 8, 64
CHARS_PER_TOKEN_CAP = 16  # text beyond context·16 characters cannot reach the model


class ClipEncoder:
    """Encodes frames to (global, patch-grid) embeddings and text to query embeddings.

    The encoder owns ``model``: it switches the vision tower to also return its
    patch tokens. Build it with :meth:`from_spec`; tests pass a model directly.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_id: str,
        device: str = "cpu",
        batch_size: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        precision: str = "fp32",
    ) -> None:
        self._visual = _patch_vision_tower(model)
        self._model = model.eval().to(device)
        self.precision = _check_precision(precision, device)
        if precision == "int8":
            quantize_vision_int8(self._visual)
        self._tokenizer = tokenizer
        self._device = torch.device(device)
        self._batch_size = _positive("batch_size", batch_size or default_batch(device))
        cfg = open_clip.get_model_preprocess_cfg(model)
        self._mean = _channel_tensor(mean or cfg.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self._std = _channel_tensor(std or cfg.get("std", open_clip.OPENAI_DATASET_STD))
        self._text_cache: OrderedDict[str, FloatArray] = OrderedDict()
        self.model_id = model_id
        self.calibration: dict[str, float] = {}
        self.vision_frames_encoded = 0
        self.encode_calls = 0  # calls of encode_frames: frames per call = batching achieved
        self.texts_encoded = 0

    @property
    def device(self) -> str:
        """Where the model runs: ``"cpu"``, ``"cuda"``, ..."""
        return self._device.type

    @classmethod
    def from_spec(
        cls, spec: str, device: str = "auto", *, batch_size: int | None = None,
        precision: str = "fp32",
    ) -> ClipEncoder:
        """Load the model a spec names (see the module docstring) onto ``device``.

        ``precision="int8"`` (CPU only) quantises the vision tower's linear layers
        (attention projections and MLPs) dynamically: int8 weights and activations,
        int32 accumulation; faster than fp32 on CPU, embeddings within ~1e-3 cosine
        of fp32 (``feedwatch bench encode --precision fp32,int8``; figures in
        ``docs/performance.md``). Text stays fp32.
        """
        spec = discover.resolve(spec)  # "auto": the first real CLIP found locally
        dev = resolve_device(device)
        model, tokenizer, preprocess = _load(spec.strip())
        encoder = cls(
            model,
            tokenizer,
            model_id=spec.strip(),
            device=dev,
            batch_size=batch_size,
            mean=preprocess.get("mean"),
            std=preprocess.get("std"),
            precision=precision,
        )
        encoder.calibration = load_calibration(spec.strip())
        return encoder

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, cols) of the patch grid."""
        h, w = self._visual.grid_size
        return int(h), int(w)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) in pixels every frame is squashed to."""
        h, w = self._visual.image_size
        return int(h), int(w)

    @property
    def dim(self) -> int:
        """Size of the joint embedding space."""
        return int(self._visual.output_dim)

    @property
    def context_length(self) -> int:
        return int(getattr(self._tokenizer, "context_length", 77) or 77)

    def encode_frames(self, frames: Sequence[ImageArray]) -> tuple[FloatArray, FloatArray]:
        """Normalised global (N, D) and patch-grid (N, h, w, D) embeddings."""
        self.encode_calls += 1
        if len(frames) == 0:
            h, w = self.grid
            return np.zeros((0, self.dim), np.float32), np.zeros((0, h, w, self.dim), np.float32)
        parts = [
            self._encode_batch(frames[i : i + self._batch_size])
            for i in range(0, len(frames), self._batch_size)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def encode_text(self, texts: Sequence[str]) -> FloatArray:
        """Normalised (Q, D) text embeddings; long texts are truncated, results cached."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._text_cache))
        fresh = dict(zip(missing, self._encode_texts(missing), strict=True)) if missing else {}
        out = [fresh[t] if t in fresh else self._text_cache[t] for t in texts]
        for t in dict.fromkeys(texts):
            if t in self._text_cache:
                self._text_cache.move_to_end(t)
        if fresh:  # after the output is taken: remembering may evict texts of this very call
            self._remember(list(fresh), np.stack(list(fresh.values())))
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    def _encode_batch(self, frames: Sequence[ImageArray]) -> tuple[FloatArray, FloatArray]:
        pixels = self._pixels(frames)
        if self._device.type == "cuda":  # page-locked host memory: a faster, async upload
            pixels = pixels.pin_memory()
        pixels = pixels.to(self._device, non_blocking=True)
        with torch.inference_mode(), self._autocast():
            pooled, tokens = self._visual(pixels)
            patches = _project_tokens(self._visual, tokens)
        self.vision_frames_encoded += len(frames)
        h, w = self.grid
        return _normalise(pooled), _normalise(patches).reshape(len(frames), h, w, self.dim)

    def _pixels(self, frames: Sequence[ImageArray]) -> torch.Tensor:
        """The batch's model input: each frame squashed as uint8, then ONE float
        conversion and normalisation for the whole batch (the same values as
        :meth:`_preprocess` per frame, about 10x cheaper on a CPU)."""
        small = torch.stack([squash_frame(_checked(f), self.input_size) for f in frames])
        return small.float().div_(255.0).sub_(self._mean).div_(self._std).contiguous()

    def _preprocess(self, frame: ImageArray) -> torch.Tensor:
        x = squash_frame(_checked(frame), self.input_size)
        return ((x.float() / 255.0 - self._mean) / self._std).contiguous()

    def _encode_texts(self, texts: list[str]) -> FloatArray:
        cap = self.context_length * CHARS_PER_TOKEN_CAP
        tokens = self._tokenizer([t[:cap] for t in texts]).to(self._device)
        with torch.inference_mode(), self._autocast():
            emb = self._model.encode_text(tokens)
        self.texts_encoded += len(texts)
        return _normalise(emb)

    def _remember(self, texts: list[str], embs: FloatArray) -> None:
        for t, e in zip(texts, embs, strict=True):
            self._text_cache[t] = e
        while len(self._text_cache) > TEXT_CACHE_SIZE:
            self._text_cache.popitem(last=False)

    def _autocast(self) -> Any:
        enabled = self._device.type == "cuda"
        return torch.autocast(device_type=self._device.type, dtype=torch.float16, enabled=enabled)


def default_batch(device: str) -> int:
    """Frames per vision pass when not told: a CPU runs moderate batches fastest (ViT-B-32
    int8 on a 2-core box: 65 frames/s at 8, 53 at 32, `feedwatch bench encode`), a GPU
    wants large ones. Callers hand the encoder any number; it runs them in such chunks."""
    return CPU_BATCH if torch.device(device).type == "cpu" else GPU_BATCH


def _checked(frame: ImageArray) -> ImageArray:
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"frames must be HxWx3 uint8 RGB, got {arr.dtype} {arr.shape}")
    return arr


def squash_frame(frame: ImageArray, size: tuple[int, int]) -> torch.Tensor:
    """An HxWx3 uint8 frame resized whole (no crop) to (3, *size) uint8, antialiased.

    Resizing the uint8 frame (torch's vectorised channels-last path) and converting only
    the small image is ~5x cheaper than a float copy of the full frame.
    """
    x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None]
    x = x.contiguous(memory_format=torch.channels_last)
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)[0]


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cpu``, ``cuda`` and ``cuda:N``
    pass through (a CUDA device only where one is available)."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError("device", device, "auto, cpu, cuda or cuda:N")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", device, "'auto', 'cpu' or a CUDA device (none is available)")
    return device


def shapes_demo_dir() -> Path:
    """Folder of the bundled shapes-demo weights."""
    return Path(str(resources.files("pipeline.models").joinpath("assets", SHAPES_DEMO)))


def load_calibration(spec: str) -> dict[str, float]:
    """Answerer calibration shipped next to a model folder's weights, if any.

    ``feedwatch_calibration.json`` is written by :mod:`pipeline.models.calibrate`;
    numbers only (e.g. ``clip_threshold``), measured on that very model.
    """
    folder = _folder_of(spec)
    path = folder / CALIBRATION_FILE if folder else None
    if path is None or not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def _folder_of(spec: str) -> Path | None:
    if spec == SHAPES_DEMO:
        return shapes_demo_dir()
    if spec.startswith(LOCAL_DIR):
        return Path(spec[len(LOCAL_DIR) :]).expanduser()
    return None


def _load(spec: str) -> tuple[Any, Any, dict[str, Any]]:
    if not spec:
        raise ConfigError("clip", spec, "a model spec such as 'shapes-demo' or 'ViT-B-32'")
    if spec == SHAPES_DEMO:
        return _load_local_dir(shapes_demo_dir())
    if spec.startswith(HF_HUB):
        return _load_local_dir(_cached_hub_dir(spec[len(HF_HUB) :]))
    if spec.startswith(LOCAL_DIR):
        return _load_local_dir(Path(spec[len(LOCAL_DIR) :]).expanduser())
    if "@" in spec:
        arch, path = spec.split("@", 1)
        return _load_arch(arch, _existing_file(Path(path).expanduser(), spec))
    if ":" in spec:
        arch, tag = spec.split(":", 1)
        if Path(tag).expanduser().is_file():
            return _load_arch(arch, Path(tag).expanduser())
        return _load_tag(arch, tag)
    return _load_arch(spec, None)


def _load_local_dir(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    if not (path / "open_clip_config.json").is_file():
        raise ModelLoadError(
            f"no open_clip_config.json in {path} (expected an open_clip model folder)"
        )
    name = f"{LOCAL_DIR}{path}"
    try:
        model = open_clip.create_model(name)
        tokenizer = open_clip.get_tokenizer(name)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load open_clip folder {path}: {exc}") from exc
    return model, tokenizer, {}


def _load_arch(arch: str, checkpoint: Path | None) -> tuple[Any, Any, dict[str, Any]]:
    _check_arch(arch)
    if checkpoint is None:
        log.warning("CLIP %s has random weights: answers will be meaningless", arch)
    try:
        model = open_clip.create_model(arch, pretrained=str(checkpoint) if checkpoint else None)
    except (OSError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"cannot load {arch} from {checkpoint}: {exc}") from exc
    return model, open_clip.get_tokenizer(arch), {}


def _load_tag(arch: str, tag: str) -> tuple[Any, Any, dict[str, Any]]:
    _check_arch(arch)
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise ModelLoadError(
            f"{arch} has no pretrained tag {tag!r} and it is no file; tags: {known}"
        )
    path = _cached_weights(cfg)
    if path is None:
        raise ModelLoadError(
            f"weights for {arch}:{tag} are not in the local cache and downloads are disabled; "
            f"copy them there or use '{arch}@/path/to/checkpoint'"
        )
    model, tokenizer, _ = _load_arch(arch, path)
    return model, tokenizer, {k: cfg[k] for k in ("mean", "std") if k in cfg}


def _cached_weights(cfg: dict[str, Any]) -> Path | None:
    """The pretrained file for a tag if it is already on disk; never downloads."""
    hub = str(cfg.get("hf_hub", ""))
    if hub:
        return _cached_hub_file(*os.path.split(hub))
    url = str(cfg.get("url", ""))
    local = Path.home() / ".cache" / "clip" / os.path.basename(url)
    return local if url and local.is_file() else None


def _cached_hub_file(repo: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    names = (
        [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    )
    if filename.endswith((".bin", ".pth")):
        names.insert(0, str(Path(filename).with_suffix(".safetensors")))
    for name in names:
        found = try_to_load_from_cache(repo_id=repo, filename=name)
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def _cached_hub_dir(repo: str) -> Path:
    """The cached snapshot folder of an open_clip hub repo; never downloads."""
    config = _cached_hub_file(repo, "open_clip_config.json")
    if config is None:
        raise ModelLoadError(
            f"hf-hub:{repo} is not in the local hub cache and downloads are disabled"
        )
    return config.parent


def _check_arch(arch: str) -> None:
    if arch.replace("/", "-") not in open_clip.list_models():
        raise ModelLoadError(
            f"unknown open_clip architecture {arch!r}; see open_clip.list_models()"
        )


def _existing_file(path: Path, spec: str) -> Path:
    if not path.is_file():
        raise ModelLoadError(f"checkpoint file {path} of spec {spec!r} does not exist")
    return path


def _patch_vision_tower(model: Any) -> VisionTransformer:
    visual = getattr(model, "visual", None)
    if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None:
        raise ModelLoadError("the CLIP encoder needs an open_clip ViT without attentional pooling")
    if visual.pool_type not in ("tok", "avg") or visual.proj is None:
        raise ModelLoadError(
            f"unsupported vision pooling {visual.pool_type!r} / missing projection"
        )
    visual.output_tokens = True
    return visual


def _project_tokens(visual: VisionTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """Patch tokens into the joint space (ln_post is already applied unless pooled after)."""
    if visual.final_ln_after_pool:
        tokens = visual.ln_post(tokens)
    projected: torch.Tensor = tokens @ visual.proj
    return projected


def _normalise(x: torch.Tensor) -> FloatArray:
    y = F.normalize(x.float(), dim=-1)
    return np.ascontiguousarray(y.cpu().numpy(), dtype=np.float32)


def _channel_tensor(values: Sequence[float]) -> torch.Tensor:
    return torch.tensor([float(v) for v in values], dtype=torch.float32).view(3, 1, 1)


def _check_precision(precision: str, device: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError("precision", precision, f"one of {', '.join(PRECISIONS)}")
    if precision == "int8" and torch.device(device).type != "cpu":
        raise ConfigError("precision", precision, "int8 on the CPU only (CUDA runs fp16)")
    return precision


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise ConfigError(name, value, "a whole number >= 1")
    return value
