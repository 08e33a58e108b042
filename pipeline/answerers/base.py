"""The answerer interface, its result, and the registry keyed by ``type``.

A plugin module defines its settings (an :class:`AnswererSettings` model: frozen,
unknown keys rejected) and an :class:`Answerer` subclass with ``type``,
``config_cls`` and a ``build`` classmethod, registered with :func:`register`.
Settings are validated by :func:`parse_settings` before ``build`` runs.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, FloatArray, ImageArray, StandingQuery

Window = Sequence[EncodedFrame]
"""The buffered frames of one evaluation window, oldest first."""
QueryEmb = np.ndarray[Any, Any]
"""One question's CLIP text embedding."""
QueryEmbs = Sequence[QueryEmb] | FloatArray
"""The text embeddings of several questions, one row each."""


class TextEncoder(Protocol):
    """What answerers need from the CLIP encoder (ClipEncoder satisfies it)."""

    model_id: str

    @property
    def grid(self) -> tuple[int, int]: ...

    def encode_text(self, texts: Sequence[str]) -> FloatArray: ...


class ImageEncoder(Protocol):
    """The image side of the CLIP encoder (the engine encodes frames with it, the
    ``clip`` answerer's second look its crops)."""

    def encode_frames(self, frames: Sequence[ImageArray]) -> tuple[FloatArray, FloatArray]: ...


@dataclass(frozen=True)
class AnswerResult:
    """What an answerer says about one question on one window."""

    text: str
    matched: bool | None
    score: float | None
    visual_tokens: int
    model_ids: dict[str, str] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)  # per-stage record (cascade)
    threshold: float | None = None  # the score the decision was made against, if any
    why: str = ""  # one line on why the answer is what it is (the adaptive clip mode)
    near: bool | None = None
    """Whether the answer is yes or a no within the asker's band of it, in the tracker's
    own spreads (the adaptive clip mode inside a cascade; None where not asked)."""


C = TypeVar("C", bound=BaseModel)


class AnswererSettings(BaseModel):
    """Base of every answerer's settings: frozen, unknown keys rejected, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Answerer(ABC):
    """Answers a standing question from the frames and boxes selection picked."""

    type: ClassVar[str]
    config_cls: ClassVar[builtins.type[AnswererSettings]]
    keeps_baselines: ClassVar[bool] = False
    """It keeps state per question and camera (``use_states(states)`` says where: the
    store in a worker, so it survives restarts and takeovers)."""
    uses_vlm: ClassVar[bool] = False
    """It needs a VLM (``--vlm``), and its text can describe the evidence (alerts)."""

    stages: ClassVar[Mapping[str, str]] = {}
    """Settings fields that hold another answerer's settings, and its type (the
    cascade's ``clip`` and ``vlm``): checked as that answerer's own."""

    @classmethod
    def settings_of(cls, settings: Mapping[str, Any], where: str = "") -> AnswererSettings:
        """``settings`` validated (ConfigError naming the field under ``where``), its
        stages' too, so what passes here builds."""
        where = where or cls.type
        config = parse_settings(cls.config_cls, settings, where)
        for name, type_ in cls.stages.items():
            answerer_class(type_).settings_of(getattr(config, name), f"{where}.{name}")
        return config

    @classmethod
    def normalized(cls, settings: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """``settings`` as validated, in the types the answerer reads (``"1"`` for a
        number is stored as ``1.0``), only the keys given, its stages' likewise."""
        config = cls.settings_of(settings, where)
        dumped = config.model_dump(mode="json")
        out = {key: dumped[key] for key in settings}
        for name, type_ in cls.stages.items():
            if name in out:
                out[name] = answerer_class(type_).normalized(getattr(config, name))
        return out

    @classmethod
    @abstractmethod
    def build(cls, config: Any, *, encoder: TextEncoder, vlm_spec: str = "") -> Answerer:
        """Create the answerer from validated settings (loads models once)."""

    @abstractmethod
    def answer(self, query: StandingQuery, window: Window, selection: Selection,
               query_emb: QueryEmb) -> AnswerResult:
        """Answer ``query`` on ``window`` using the frames and RoIs in ``selection``."""

    def answer_many(self, queries: Sequence[StandingQuery], window: Window,
                    selections: Sequence[Selection], query_embs: QueryEmbs) -> list[AnswerResult]:
        """Every query due on one window, in order; answerers that batch override this."""
        return [
            self.answer(q, window, s, e)
            for q, s, e in zip(queries, selections, query_embs, strict=True)
        ]

    @property
    def looks_ahead(self) -> bool:
        """Whether :meth:`look_ahead` does anything (the engine selects frames for it)."""
        return False

    def look_ahead(self, items: Sequence[tuple[StandingQuery, Window, Selection, QueryEmb]]
                   ) -> None:
        """Before the windows of one step (any cameras) are answered: do the model work
        they will need in one batch (an optimisation only; ``answer`` must not rely on it)."""
        return None


class BatchAnswerer(Answerer):
    """An answerer that works on every query due on a window at once (one model batch)."""

    def answer(self, query: StandingQuery, window: Window, selection: Selection,
               query_emb: QueryEmb) -> AnswerResult:
        return self.answer_many([query], window, [selection], [query_emb])[0]

    @abstractmethod
    def answer_many(self, queries: Sequence[StandingQuery], window: Window,
                    selections: Sequence[Selection], query_embs: QueryEmbs) -> list[AnswerResult]:
        """Every query due on one window, in order, answered together."""


_REGISTRY: dict[str, type[Answerer]] = {}
A = TypeVar("A", bound=type[Answerer])


def register(cls: A) -> A:
    """Class decorator: make an answerer buildable by its ``type``."""
    _REGISTRY[cls.type] = cls
    return cls


def registered() -> Mapping[str, type[Answerer]]:
    return dict(_REGISTRY)


def answerer_class(type_: str) -> type[Answerer]:
    """The class registered for ``type_``; ConfigError naming the allowed types."""
    if type_ not in _REGISTRY:
        raise ConfigError("answerer", type_, f"one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[type_]


def parse_settings(config_cls: type[C], settings: Mapping[str, Any], where: str) -> C:
    """Validate ``settings`` into ``config_cls``; the first problem becomes a ConfigError."""
    try:
        return config_cls.model_validate(dict(settings))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in (where, *err["loc"]))
        raise ConfigError(name, err.get("input"), err["msg"]) from None
