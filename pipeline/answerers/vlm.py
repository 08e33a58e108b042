"""The ``vlm`` answerer: a LLaVA-family model sees the RoI tokens of the selected frames.

The model adapter (:mod:`pipeline.models.llava`, which imports torch) is loaded
lazily on build and shared between answerers of the same model and device, so
subscribing a second question does not load the model again.

``matched`` is True when the answer starts with "yes", False when it starts
with "no" (case-insensitive), else None; ``score`` is None.
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field

from pipeline.answerers.base import (
    Answerer,
    AnswererSettings,
    AnswerResult,
    TextEncoder,
    register,
)
from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, StandingQuery

if TYPE_CHECKING:
    from pipeline.models.llava import LlavaAdapter

DEFAULT_PROMPT = "USER: <image>\n{question} Answer yes or no first. ASSISTANT:"
_WORD = re.compile(r"[a-z]+")


class VlmSettings(AnswererSettings):
    """Settings of the ``vlm`` answerer."""

    model: str = ""
    device: str = "auto"
    max_new_tokens: int = Field(default=16, ge=1, le=512)
    prompt: str = Field(default=DEFAULT_PROMPT, pattern=r"\{question\}")


@register
class VlmAnswerer(Answerer):
    """Free-text answers from a VLM fed only the selected frames' RoI tokens."""

    type: ClassVar[str] = "vlm"
    config_cls: ClassVar[builtins.type[AnswererSettings]] = VlmSettings

    def __init__(self, settings: VlmSettings, adapter: LlavaAdapter, clip_id: str = "") -> None:
        self.settings = settings
        self.adapter = adapter
        self._clip_id = clip_id

    @classmethod
    def build(cls, config: Any, *, encoder: TextEncoder, vlm_spec: str = "") -> VlmAnswerer:
        spec = config.model or vlm_spec
        if not spec:
            raise ConfigError("vlm.model", spec, "a VLM directory or hub id (or perception.vlm)")
        return cls(config, load_adapter(spec, config.device), encoder.model_id)

    def answer(
        self,
        query: StandingQuery,
        window: Sequence[EncodedFrame],
        selection: Selection,
        query_emb: np.ndarray[Any, Any],
    ) -> AnswerResult:
        frames = [window[i].thumb for i in selection.indices]
        prompt = self.settings.prompt.replace("{question}", query.question)
        out = self.adapter.generate(
            prompt, frames, selection.rois, max_new_tokens=self.settings.max_new_tokens
        )
        return AnswerResult(
            text=out.text,
            matched=yes_no(out.text),
            score=None,
            visual_tokens=out.visual_tokens,
            model_ids={"vlm": self.adapter.model_id, "clip": self._clip_id},
        )


def yes_no(text: str) -> bool | None:
    """True for an answer starting with "yes", False for "no", else None."""
    first = _WORD.match(text.strip().lower())
    word = first.group(0) if first else ""
    return True if word == "yes" else False if word == "no" else None


@functools.lru_cache(maxsize=2)
def load_adapter(spec: str, device: str = "auto") -> LlavaAdapter:
    """The loaded VLM for ``spec`` on ``device``, shared by every answerer using it."""
    from pipeline.models.llava import LlavaAdapter

    return LlavaAdapter.from_spec(spec, device)
