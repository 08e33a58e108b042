"""LLaVA adapter (transformers): RoI-cropped visual tokens spliced into the prompt.

Loads ``LlavaForConditionalGeneration`` (other image-text-to-text models with the
same ``get_image_features`` API through the Auto class) from a local directory or
a hub id that is already in the local cache (never downloads).

The spec ``tiny-llava`` is a seeded random LLaVA built once from a config into a
local folder (:func:`pipeline.models.tiny.save_tiny_llava`): the whole VLM path,
anywhere, without weights.

A selected frame is squashed (no crop) to the vision tower's input size and goes
through the vision tower + projector at most once while the frame object lives:
:meth:`LlavaAdapter.frame_grids` keeps each buffered frame's projected token grid,
keyed by the frame's identity and dropped when the frame is garbage (it leaves the
camera buffer), and encodes the frames it has not seen in one batch. So every
question selecting a frame, in this window and the next ones, shares one vision
pass. The CLIP-grid RoI is mapped onto the tower's grid
(:func:`pipeline.roi.map_roi`) and only the tokens inside it are kept. The prompt's
``<image>`` marker is replaced by the kept tokens of all frames in time order; the
input embeddings are built here (text token embeddings + visual tokens) and decoded
greedily — several prompts at once as one left-padded batch
(:meth:`LlavaAdapter.generate_batch`).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.errors import ModelLoadError
from pipeline.models.clip_encoder import resolve_device
from pipeline.roi import map_roi
from pipeline.types import EncodedFrame, ImageArray, RoI

log = logging.getLogger(__name__)

IMAGE_MARKER = "<image>"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VlmOutput:
    """A generated answer and what it cost."""

    text: str
    visual_tokens: int
    text_tokens: int
    input_embeddings: int
    new_tokens: int


class LlavaAdapter:
    """A loaded LLaVA-family model with its tokenizer; build with :meth:`from_spec`."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_id: str,
        mean: Sequence[float] = CLIP_MEAN,
        std: Sequence[float] = CLIP_STD,
    ) -> None:
        self._model = model.eval()
        self._tokenizer = tokenizer
        self._mean = torch.tensor(list(mean), dtype=torch.float32).view(3, 1, 1)
        self._std = torch.tensor(list(std), dtype=torch.float32).view(3, 1, 1)
        self.model_id = model_id
        self.vision_frames_encoded = 0
        self.prompts_generated = 0  # answers generated (rows of every generate call)
        self._grids: dict[int, tuple[weakref.ref[EncodedFrame], torch.Tensor]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, device: str = "auto") -> LlavaAdapter:
        """Load from a local directory or a cached hub id onto ``device``."""
        dev = resolve_device(device)
        dtype = torch.float16 if dev.startswith("cuda") else torch.float32
        model, tokenizer, processor = _load(_resolve(spec), dtype)
        mean = getattr(processor, "image_mean", None) or CLIP_MEAN
        std = getattr(processor, "image_std", None) or CLIP_STD
        return cls(model.to(dev), tokenizer, model_id=spec, mean=mean, std=std)

    @property
    def input_size(self) -> tuple[int, int]:
        size = self._model.config.vision_config.image_size
        return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))

    @property
    def grid(self) -> tuple[int, int]:
        """The vision tower's patch grid (rows, cols)."""
        patch = int(self._model.config.vision_config.patch_size)
        h, w = self.input_size
        return h // patch, w // patch

    @property
    def device(self) -> torch.device:
        return torch.device(next(self._model.parameters()).device)

    def visual_token_grids(self, frames: Sequence[ImageArray]) -> torch.Tensor:
        """Projected visual tokens (N, h, w, H): one vision pass per frame, batched."""
        pixels = torch.stack([self._preprocess(f) for f in frames]).to(self.device)
        pixels = pixels.to(self._model.dtype)
        with torch.inference_mode():
            feats = _image_features(self._model, pixels)
        self.vision_frames_encoded += len(frames)
        h, w = self.grid
        if feats.shape[1] == h * w + 1:
            feats = feats[:, 1:]
        if feats.shape[1] != h * w:
            raise ModelLoadError(
                f"{self.model_id}: {feats.shape[1]} visual tokens per frame "
                f"do not form its {h}x{w} patch grid"
            )
        return feats.reshape(len(frames), h, w, feats.shape[-1])

    def frame_grids(self, frames: Sequence[EncodedFrame]) -> list[torch.Tensor]:
        """Each frame's token grid (h, w, H); frames not seen before go through the tower in
        one batch, the others come from the per-frame cache."""
        with self._lock:
            missing = list({id(f): f for f in frames if self._cached(f) is None}.values())
            if missing:
                grids = self.visual_token_grids([f.thumb for f in missing])
                for frame, grid in zip(missing, grids, strict=True):
                    self._remember(frame, grid)
            return [self._grids[id(f)][1] for f in frames]

    @property
    def cached_frames(self) -> int:
        """Frames whose token grid is held (they are alive, in some buffer or window)."""
        return len(self._grids)

    def _cached(self, frame: EncodedFrame) -> torch.Tensor | None:
        hit = self._grids.get(id(frame))
        return hit[1] if hit is not None and hit[0]() is frame else None

    def _remember(self, frame: EncodedFrame, grid: torch.Tensor) -> None:
        key = id(frame)
        grids = self._grids

        def forget(ref: weakref.ref[EncodedFrame]) -> None:
            if grids.get(key, (None,))[0] is ref:
                grids.pop(key, None)

        grids[key] = (weakref.ref(frame, forget), grid)

    def frame_tokens(self, frames: Sequence[EncodedFrame], rois: Sequence[RoI]) -> torch.Tensor:
        """The kept (RoI) visual tokens of buffered frames, concatenated in order: (n, H)."""
        if len(frames) != len(rois):
            raise ValueError(f"{len(frames)} frames but {len(rois)} RoIs")
        if not frames:
            return torch.zeros((0, self._hidden_size()), device=self.device)
        h, w = self.grid
        grids = self.frame_grids(frames)
        crops = [crop_tokens_torch(g, map_roi(r, h, w)) for g, r in zip(grids, rois, strict=True)]
        return torch.cat(crops)

    def generate_batch(
        self,
        prompts: Sequence[str],
        visuals: Sequence[torch.Tensor],
        *,
        max_new_tokens: Sequence[int],
    ) -> list[VlmOutput]:
        """Greedy answers to several prompts, each with its own visual tokens, in ONE
        left-padded ``generate`` call; row i keeps its first ``max_new_tokens[i]`` tokens."""
        if not prompts:
            return []
        built = [self.build_inputs(p, v) for p, v in zip(prompts, visuals, strict=True)]
        embeds, mask = self._left_pad([e for e, _ in built])
        rows = self._greedy_rows(embeds, mask, max(max_new_tokens))
        self.prompts_generated += len(prompts)
        return [
            self._output(ids[:limit], int(v.shape[0]), n_text, int(e.shape[1]))
            for ids, limit, v, (e, n_text) in zip(rows, max_new_tokens, visuals, built, strict=True)
        ]

    def _left_pad(self, embeds: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        longest = max(int(e.shape[1]) for e in embeds)
        pad = self._pad_embedding(embeds[0].dtype)
        rows, masks = [], []
        for e in embeds:
            n = longest - int(e.shape[1])
            rows.append(torch.cat([pad.expand(n, -1), e[0]]))
            masks.append([0] * n + [1] * int(e.shape[1]))
        mask = torch.tensor(masks, dtype=torch.long, device=self.device)
        return torch.stack(rows), mask

    def _pad_embedding(self, dtype: torch.dtype) -> torch.Tensor:
        pad = self._pad_id()
        embed = self._model.get_input_embeddings()
        with torch.inference_mode():
            ids = torch.tensor([pad if pad is not None else 0], device=self.device)
            pad_row: torch.Tensor = embed(ids).to(dtype)
        return pad_row

    def _greedy_rows(
        self, embeds: torch.Tensor, mask: torch.Tensor, max_new_tokens: int
    ) -> list[list[int]]:
        return [self._until_eos(row) for row in self._generate_ids(embeds, mask, max_new_tokens)]

    def _generate_ids(
        self, embeds: torch.Tensor, mask: torch.Tensor, max_new_tokens: int
    ) -> list[list[int]]:
        """One greedy ``generate`` call; given only embeddings, only new tokens return."""
        with torch.inference_mode():
            out = self._model.generate(
                inputs_embeds=embeds,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=self._pad_id(),
            )
        return [[int(i) for i in row] for row in out.tolist()]

    def _until_eos(self, ids: list[int]) -> list[int]:
        eos = getattr(self._tokenizer, "eos_token_id", None)
        return ids[: ids.index(eos) + 1] if eos is not None and eos in ids else ids

    def _output(self, ids: list[int], visual: int, n_text: int, n_inputs: int) -> VlmOutput:
        text = self._tokenizer.decode(ids, skip_special_tokens=True).strip()
        return VlmOutput(text, visual, n_text, n_inputs, len(ids))

    def generate(
        self,
        prompt: str,
        frames: Sequence[ImageArray],
        rois: Sequence[RoI],
        *,
        max_new_tokens: int = 16,
    ) -> VlmOutput:
        """Greedy answer to ``prompt`` seeing only the RoI tokens of ``frames``."""
        visual = self.cropped_tokens(frames, rois)
        embeds, n_text = self.build_inputs(prompt, visual)
        new_ids = self._greedy(embeds, max_new_tokens)
        self.prompts_generated += 1
        text = self._tokenizer.decode(new_ids, skip_special_tokens=True).strip()
        return VlmOutput(text, int(visual.shape[0]), n_text, int(embeds.shape[1]), len(new_ids))

    def cropped_tokens(self, frames: Sequence[ImageArray], rois: Sequence[RoI]) -> torch.Tensor:
        """The kept visual tokens of all frames, concatenated in order: (n, H)."""
        if len(frames) != len(rois):
            raise ValueError(f"{len(frames)} frames but {len(rois)} RoIs")
        if not frames:
            return torch.zeros((0, self._hidden_size()), device=self.device)
        grids = self.visual_token_grids(frames)
        h, w = self.grid
        crops = [crop_tokens_torch(g, map_roi(r, h, w)) for g, r in zip(grids, rois, strict=True)]
        return torch.cat(crops)

    def build_inputs(self, prompt: str, visual: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Input embeddings (1, L, H) with ``visual`` at the image marker; L = text + visual."""
        before, after = _split_prompt(prompt)
        ids = [self._ids(before, special=True), self._ids(after, special=False)]
        embed = self._model.get_input_embeddings()
        with torch.inference_mode():
            text = [embed(torch.tensor(i, dtype=torch.long, device=self.device)) for i in ids]
        parts = [text[0], visual.to(text[0].dtype), text[1]]
        return torch.cat(parts)[None], len(ids[0]) + len(ids[1])

    def _greedy(self, embeds: torch.Tensor, max_new_tokens: int) -> list[int]:
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=self.device)
        return self._generate_ids(embeds, mask, max_new_tokens)[0]

    def _ids(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return self._bos_ids() if special else []
        return list(self._tokenizer(text, add_special_tokens=special)["input_ids"])

    def _bos_ids(self) -> list[int]:
        bos = getattr(self._tokenizer, "bos_token_id", None)
        return [] if bos is None else [int(bos)]

    def _pad_id(self) -> int | None:
        pad = getattr(self._tokenizer, "pad_token_id", None)
        return pad if pad is not None else getattr(self._tokenizer, "eos_token_id", None)

    def _hidden_size(self) -> int:
        return int(self._model.get_input_embeddings().embedding_dim)

    def _preprocess(self, frame: ImageArray) -> torch.Tensor:
        arr = np.ascontiguousarray(frame)
        arr = arr if arr.flags.writeable else arr.copy()
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ValueError(f"frames must be HxWx3 uint8 RGB, got {arr.dtype} {arr.shape}")
        x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(
            x, size=self.input_size, mode="bicubic", antialias=True, align_corners=False
        )
        return (x[0].clamp(0, 1) - self._mean) / self._std


def crop_tokens_torch(grid: torch.Tensor, roi: RoI) -> torch.Tensor:
    """The tokens of an (h, w, H) grid inside ``roi``, row-major: (rows·cols, H)."""
    if tuple(grid.shape[:2]) != (roi.grid_h, roi.grid_w):
        raise ValueError(
            f"token grid {tuple(grid.shape)} does not match RoI grid {roi.grid_h}x{roi.grid_w}"
        )
    box = grid[roi.top : roi.top + roi.height, roi.left : roi.left + roi.width]
    return box.reshape(roi.tokens, grid.shape[-1])


def _split_prompt(prompt: str) -> tuple[str, str]:
    if IMAGE_MARKER not in prompt:
        return "", prompt
    before, after = prompt.split(IMAGE_MARKER, 1)
    return before, after.replace(IMAGE_MARKER, "")


def _image_features(model: Any, pixels: torch.Tensor) -> torch.Tensor:
    cfg = model.config
    out = model.get_image_features(
        pixel_values=pixels,
        vision_feature_layer=cfg.vision_feature_layer,
        vision_feature_select_strategy=cfg.vision_feature_select_strategy,
    )
    feats = out if isinstance(out, torch.Tensor | list | tuple) else out.pooler_output
    return feats if isinstance(feats, torch.Tensor) else torch.stack(list(feats))


def _resolve(spec: str) -> str:
    """The folder or hub id to load: ``tiny-llava`` is built (once) into the models folder."""
    from pipeline.models.tiny import TINY_LLAVA, save_tiny_llava

    return str(save_tiny_llava()) if spec.strip() == TINY_LLAVA else spec


def _load(spec: str, dtype: torch.dtype) -> tuple[Any, Any, Any]:
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer

    source = str(Path(spec).expanduser()) if Path(spec).expanduser().is_dir() else spec
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
        model = _model_class(config.model_type).from_pretrained(
            source, dtype=dtype, local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(
            f"cannot load VLM {spec!r} from a local directory or the local hub cache "
            f"(downloads are disabled): {exc}"
        ) from exc
    return model, tokenizer, _image_processor(AutoImageProcessor, source)


def _model_class(model_type: str) -> Any:
    from transformers import AutoModelForImageTextToText, LlavaForConditionalGeneration

    if model_type == "llava":
        return LlavaForConditionalGeneration
    log.warning(
        "VLM type %r is not llava; trying it through AutoModelForImageTextToText", model_type
    )
    return AutoModelForImageTextToText


def _image_processor(auto: Any, source: str) -> Any:
    try:
        return auto.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError, KeyError):
        log.warning("no image processor in %s; using CLIP's mean/std", source)
        return None
