"""Request and response bodies of the HTTP API (pydantic; shown in the OpenAPI docs).

Validation errors come back as FastAPI's 422 body, whose ``loc`` names the field
(``["body", "window"]``); checks that need the store (unknown cameras) use the same
shape through :func:`field_error`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pipeline.errors import ConfigError
from pipeline.questions import QUESTION_MAX, clean_question

CAMERAS_MAX = 64
CAMERA_ID_MAX = 128
EVERY_MIN, EVERY_MAX = 0.2, 3600.0
WINDOW_MIN, WINDOW_MAX = 0.5, 6 * 3600.0
KNOWN_ANSWERERS: frozenset[str] = frozenset({"clip", "vlm"})
"""Fallback when :mod:`pipeline.answerers` is not importable; see :func:`answerer_types`."""


def answerer_types() -> frozenset[str]:
    """The answerer types the pipeline knows (its plugin registry, imported lazily)."""
    try:
        from pipeline import answerers  # noqa: PLC0415 - lazy on purpose
    except ImportError:
        return KNOWN_ANSWERERS
    for name in ("REGISTRY", "ANSWERERS", "TYPES"):
        found = getattr(answerers, name, None)
        if found:
            return frozenset(str(key) for key in found)
    return KNOWN_ANSWERERS


def field_error(
    field: str, value: object, message: str, *, index: int | None = None
) -> HTTPException:
    """A 422 in FastAPI's validation shape, naming the body field at fault."""
    loc: list[str | int] = ["body", field] + ([index] if index is not None else [])
    detail = [{"loc": loc, "msg": message, "type": "value_error", "input": value}]
    return HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_question(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be empty or only whitespace")
    try:
        return clean_question(value)
    except ConfigError as exc:  # the shared rule (pipeline.questions), as a field error
        raise ValueError(exc.allowed) from None


def _clean_cameras(value: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in value))
    if any(not c for c in cleaned):
        raise ValueError("camera ids must not be empty")
    if "*" in cleaned and len(cleaned) > 1:
        raise ValueError("'*' (every camera) cannot be combined with named cameras")
    return cleaned


def _check_answerer(value: str) -> str:
    known = answerer_types()
    if value not in known:
        raise ValueError(f"unknown answerer {value!r}; known: {', '.join(sorted(known))}")
    return value


def check_window(window: float, every: float | None) -> float:
    """A window shorter than the evaluation period would leave video unexamined."""
    if every is not None and window < every:
        raise ValueError(f"window ({window:g} s) must be ≥ every ({every:g} s)")
    return window


class QueryCreate(_Strict):
    """A question to subscribe to cameras."""

    question: str = Field(
        min_length=1, max_length=QUESTION_MAX, examples=["is a forklift blocking the exit?"]
    )
    cameras: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        max_length=CAMERAS_MAX,
        description='Camera ids, or ["*"] for every camera.',
    )
    every: float = Field(
        default=1.0, ge=EVERY_MIN, le=EVERY_MAX, description="Seconds between evaluations."
    )
    window: float = Field(
        default=4.0,
        validate_default=True,
        ge=WINDOW_MIN,
        le=WINDOW_MAX,
        description="Seconds of video per evaluation; ≥ every.",
    )
    answerer: str = Field(default="clip", description="Answerer type (clip, vlm, ...).")
    settings: dict[str, Any] = Field(default_factory=dict, description="Answerer-specific options.")

    @field_validator("question")
    @classmethod
    def _q(cls, value: str) -> str:
        return _clean_question(value)

    @field_validator("cameras")
    @classmethod
    def _c(cls, value: list[str]) -> list[str]:
        return _clean_cameras(value)

    @field_validator("window")
    @classmethod
    def _w(cls, value: float, info: ValidationInfo) -> float:
        return check_window(value, info.data.get("every"))

    @field_validator("answerer")
    @classmethod
    def _a(cls, value: str) -> str:
        return _check_answerer(value)


class QueryUpdate(_Strict):
    """A partial update: only the given fields change; the version goes up by one."""

    question: str | None = Field(default=None, min_length=1, max_length=QUESTION_MAX)
    cameras: list[str] | None = Field(default=None, min_length=1, max_length=CAMERAS_MAX)
    every: float | None = Field(default=None, ge=EVERY_MIN, le=EVERY_MAX)
    window: float | None = Field(default=None, ge=WINDOW_MIN, le=WINDOW_MAX)
    answerer: str | None = None
    settings: dict[str, Any] | None = None

    @field_validator("question")
    @classmethod
    def _q(cls, value: str | None) -> str | None:
        return None if value is None else _clean_question(value)

    @field_validator("cameras")
    @classmethod
    def _c(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_cameras(value)

    @field_validator("answerer")
    @classmethod
    def _a(cls, value: str | None) -> str | None:
        return None if value is None else _check_answerer(value)


class QueryOut(BaseModel):
    """A standing query as stored."""

    id: str
    question: str
    cameras: list[str]
    every: float
    window: float
    answerer: str
    settings: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    created_at: float | None = None


class CameraState(StrEnum):
    """Live state of a camera stream, from the video source's status events."""

    connecting = "connecting"
    connected = "connected"
    stalled = "stalled"
    reconnecting = "reconnecting"
    ended = "ended"
    unknown = "unknown"


class CameraIn(_Strict):
    """Registering a camera; ``source`` is informational (ingest workers open it)."""

    source: str = Field(default="", max_length=2000, description="Its video URI.")


class CameraOut(BaseModel):
    """A camera with its live status."""

    id: str
    name: str | None = None
    source: str | None = None
    status: CameraState = CameraState.unknown
    status_since: float | None = Field(
        default=None, description="UTC epoch s of the last status change."
    )
    last_segment_at: float | None = Field(
        default=None, description="UTC epoch s of the newest segment seen."
    )
    last_answer_at: float | None = Field(
        default=None, description="Window end of the newest stored answer."
    )
    detail: str | None = None


class EvidenceRef(BaseModel):
    """One evidence keyframe of an answer; fetch the JPEG from ``url``."""

    index: int
    t: float
    box: tuple[float, float, float, float] = Field(
        description="RoI as normalised (x0, y0, x1, y1)."
    )
    url: str


class AnswerOut(BaseModel):
    """One evaluation of one query on one camera window."""

    id: int
    query_id: str
    question: str
    camera: str
    window_start: float
    window_end: float
    evaluated_at: float
    answerer: str
    text: str
    matched: bool | None
    score: float | None
    frames: list[float]
    rois: list[tuple[float, float, float, float]]
    visual_tokens: int
    latency_ms: float
    model_ids: dict[str, str] = Field(default_factory=dict)
    evidence: list[EvidenceRef] = Field(default_factory=list)


class AnswerPage(BaseModel):
    """A page of answers, newest first; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[AnswerOut]
    next_cursor: str | None = None


class Check(BaseModel):
    ok: bool
    detail: str = ""


class Health(BaseModel):
    status: str
    checks: dict[str, Check] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    detail: str
