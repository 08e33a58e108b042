"""The ``vlm`` answerer: a LLaVA-family model sees the RoI tokens of the selected frames.

The model adapter (:mod:`pipeline.models.llava`, which imports torch) is loaded
lazily on build and shared between answerers of the same model and device, so
subscribing a second question does not load the model again. The adapter keeps
each buffered frame's visual tokens while the frame lives, so a frame goes through
the vision tower once however many questions and windows select it; the questions
due on one window are generated together (:meth:`VlmAnswerer.answer_many`), as one
left-padded batch of up to ``batch_size`` prompts.

``matched`` is True when the answer starts with "yes", False when it starts
with "no" (case-insensitive), else None; ``score`` is None.
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from pipeline.answerers.base import AnswererSettings, AnswerResult, BatchAnswerer, register
from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, StandingQuery

if TYPE_CHECKING:
    from pipeline.answerers.base import QueryEmbs, TextEncoder, Window
    from pipeline.models.llava import LlavaAdapter

DEFAULT_PROMPT = "USER: <image>\n{question} Answer yes or no first. ASSISTANT:"
_WORD = re.compile(r"[a-z]+")


class VlmSettings(AnswererSettings):
    """Settings of the ``vlm`` answerer."""

    model: str = ""
    device: str = "auto"
    max_new_tokens: int = Field(default=16, ge=1, le=512)
    prompt: str = Field(default=DEFAULT_PROMPT, pattern=r"\{question\}")
    batch_size: int = Field(default=32, ge=1, le=1024)


@register
class VlmAnswerer(BatchAnswerer):
    """Free-text answers from a VLM fed only the selected frames' RoI tokens."""

    type: ClassVar[str] = "vlm"
    config_cls: ClassVar[builtins.type[AnswererSettings]] = VlmSettings
    uses_vlm: ClassVar[bool] = True

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

    def answer_many(self, queries: Sequence[StandingQuery], window: Window,
                    selections: Sequence[Selection], query_embs: QueryEmbs) -> list[AnswerResult]:
        """All ``queries`` on one window: shared vision passes, batched generation."""
        size = self.settings.batch_size
        out: list[AnswerResult] = []
        for i in range(0, len(queries), size):
            out += self._batch(queries[i : i + size], window, selections[i : i + size])
        return out

    def _batch(
        self,
        queries: Sequence[StandingQuery],
        window: Sequence[EncodedFrame],
        selections: Sequence[Selection],
    ) -> list[AnswerResult]:
        visuals = [
            self.adapter.frame_tokens([window[i] for i in s.indices], s.rois) for s in selections
        ]
        prompts = [self.settings.prompt.replace("{question}", q.question) for q in queries]
        limits = [self.settings.max_new_tokens] * len(queries)
        outs = self.adapter.generate_batch(prompts, visuals, max_new_tokens=limits)
        return [self._result(o.text, o.visual_tokens) for o in outs]

    def _result(self, text: str, visual_tokens: int) -> AnswerResult:
        return AnswerResult(
            text=text,
            matched=yes_no(text),
            score=None,
            visual_tokens=visual_tokens,
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
