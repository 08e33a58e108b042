"""Settings of the ``clip`` answerer and the adaptive mode's tracker rule they make
(:mod:`pipeline.answerers.clip`; the rule itself is :mod:`pipeline.answerers.baseline`)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from pipeline.answerers.base import AnswererSettings
from pipeline.answerers.baseline import Rule
from pipeline.answerers.closer import CLOSER_GATE
from pipeline.errors import ConfigError
from pipeline.questions import QUESTION_MAX, clean_question, question_pattern

DEFAULT_BACKGROUNDS = ("an empty scene", "a background", "nothing in particular")
DEFAULT_THRESHOLDS = {"threshold": 0.2, "margin": 0.5}


def _as_question(schema: dict[str, Any]) -> None:
    schema["pattern"] = question_pattern()  # what the validator below enforces


Prompt = Annotated[str, Field(max_length=QUESTION_MAX, json_schema_extra=_as_question)]


class ClipSettings(AnswererSettings):
    """Settings of the ``clip`` answerer (the adaptive ones are ignored by the fixed modes)."""

    mode: Literal["adaptive", "threshold", "margin"] = "adaptive"
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    background_prompts: tuple[Prompt, ...] = Field(default=DEFAULT_BACKGROUNDS, min_length=1)
    logit_scale: float = Field(default=100.0, gt=0.0, le=1000.0)
    """CLIP's own scale is at most 100; far above, cosines times it overflow the
    float32 frames (1e308 made every margin score NaN, and every answer a dead letter)."""
    horizon_s: float = Field(default=900.0, gt=0.0, le=7 * 86400.0)
    warmup: int = Field(default=3, ge=1, le=10_000)
    sensitivity: float = Field(default=0.0, ge=-3.0, le=3.0)
    """The operator's knob, in spreads: +1 lowers every level by one spread (yes
    sooner), -1 raises them."""
    k: float = Field(default=2.0, ge=0.0, le=50.0)
    floor: float | None = Field(default=None, ge=-1.0, le=1.0)
    sure: float | None = Field(default=None, ge=-1.0, le=1.0)
    second_look: float = Field(default=0.0, ge=0.0, le=64.0)
    """Span of the adaptive mode's second look in patch cells (0: off)."""
    closer_look: float = Field(default=0.0, ge=0.0, le=64.0)
    """Span in patch cells of the crop a window that could turn yes asks its support of,
    against the strongest alternative (0: off, the whole frame against the ten closest)."""

    @field_validator("background_prompts")
    @classmethod
    def _printable(cls, prompts: tuple[str, ...]) -> tuple[str, ...]:
        """Prompts follow the question's rule: they are stored and sent like one (a NUL
        was kept on SQLite and broke PostgreSQL; a lone surrogate made a 409)."""
        cleaned = []
        for i, prompt in enumerate(prompts):
            try:
                cleaned.append(clean_question(prompt))
            except ConfigError as exc:
                raise ValueError(f"background_prompts[{i}]: {exc.allowed}") from None
        return tuple(cleaned)

    @model_validator(mode="before")
    @classmethod
    def _threshold_means_fixed(cls, data: Any) -> Any:
        """A threshold given without a mode asks for the fixed ``threshold`` mode."""
        if isinstance(data, dict) and data.get("threshold") is not None and "mode" not in data:
            return {**data, "mode": "threshold"}
        return data

    @property
    def effective_threshold(self) -> float:
        """The given threshold, else the mode's default."""
        return DEFAULT_THRESHOLDS.get(self.mode, -1.0) if self.threshold is None else self.threshold


def rule_of(s: ClipSettings) -> Rule:
    """The adaptive mode's tracker rule for these settings."""
    return Rule(horizon_s=s.horizon_s, warmup=s.warmup, k=s.k, sensitivity=s.sensitivity,
                floor=s.floor, sure=math.inf if s.sure is None else s.sure,
                gate=CLOSER_GATE if s.closer_look else Rule.gate)


def clip_rule(settings: dict[str, Any], answerer: str = "clip") -> Rule:
    """The tracker rule of a query's ``clip`` settings (selection keys ignored; the
    defaults where the settings are not the clip answerer's). A ``cascade`` query keeps
    its CLIP stage's settings under ``clip``: its trackers follow those."""
    if answerer != "clip" and isinstance(settings.get("clip"), dict):
        settings = settings["clip"]
    known = {k: v for k, v in settings.items() if k in ClipSettings.model_fields}
    try:
        return rule_of(ClipSettings.model_validate(known))
    except ValueError:
        return Rule()
