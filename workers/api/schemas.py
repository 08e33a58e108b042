"""Request and response bodies of the HTTP API (pydantic; shown in the OpenAPI docs).

Validation errors come back as FastAPI's 422 body, whose ``loc`` names the field
(``["body", "window"]``); checks that need the store (unknown cameras) use the same
shape through :func:`field_error`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from connectors.bus.failure_messages import QueryError
from connectors.bus.models import AnswerFields, QueryFields
from connectors.video.uri import CAMERA_ID, network_source_pattern
from pipeline.errors import ConfigError
from pipeline.extensions import answerer_types
from pipeline.history.duration import MAX_BACKFILL, parse_duration
from pipeline.query_rules import (
    CAMERAS_MAX,
    EVERY_MAX,
    EVERY_MIN,
    WINDOW_MAX,
    WINDOW_MIN,
    check_settings,
    check_shape,
    fits,
    settings_schema,
)
from pipeline.questions import QUESTION_MAX, clean_question, question_pattern

NETWORK_SOURCE = network_source_pattern()
"""Camera sources an API client may register unless ``allow_local_sources`` is set."""


def field_error(
    field: str,
    value: object,
    message: str,
    *,
    index: int | None = None,
    code: int = status.HTTP_422_UNPROCESSABLE_CONTENT,
) -> HTTPException:
    """An error in FastAPI's validation shape, naming the body field at fault: 422 for a
    bad value, 409 (``code``) for one that conflicts with what is stored."""
    loc: list[str | int] = ["body", field] + ([index] if index is not None else [])
    detail = [{"loc": loc, "msg": message, "type": "value_error", "input": value}]
    return HTTPException(status_code=code, detail=detail)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_question(value: str) -> str:
    try:
        return clean_question(value)  # the shared rule (pipeline.questions)
    except ConfigError as exc:
        raise ValueError(exc.allowed) from None


def _clean_cameras(value: list[str]) -> list[str]:
    """Duplicates dropped; ``"*"`` (every camera) makes the others redundant."""
    return ["*"] if "*" in value else list(dict.fromkeys(value))


def publish_question_pattern(schema: dict[str, Any]) -> None:
    """The question rule as a schema pattern (built on first use: it scans Unicode)."""
    schema["pattern"] = question_pattern()


def _publish_answerers(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(answerer_types())


def check_window(window: float, every: float | None) -> float:
    """A window shorter than the evaluation period would leave video unexamined."""
    if every is not None and window < every:
        raise ValueError(f"window ({window:g} s) must be ≥ every ({every:g} s)")
    return window


def _check_settings(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Settings some answerer's own model accepts (the schema's ``anyOf``): 422 naming the
    field otherwise. Whether they are the chosen answerer's is a rule across fields,
    which the route answers with 409."""
    answerer = info.data.get("answerer") or "clip"
    try:
        check_shape(value)
        if not any(fits(t, value) for t in (answerer, *sorted(answerer_types()))):
            check_settings(answerer, value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


def _publish_settings(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [settings_schema(t) for t in sorted(answerer_types())]


def _check_answerer(value: str) -> str:
    known = answerer_types()
    if value not in known:
        raise ValueError(f"unknown answerer {value!r}; known: {', '.join(sorted(known))}")
    return value


Question = Annotated[
    str,
    Field(
        min_length=1,
        max_length=QUESTION_MAX,
        json_schema_extra=publish_question_pattern,
        description="Printable text with a visible character; whitespace runs collapse.",
        examples=["is a forklift blocking the exit?"],
    ),
]
Cameras = Annotated[
    list[Annotated[str, Field(pattern=rf"^\*$|{CAMERA_ID}")]],
    Field(
        min_length=1,
        max_length=CAMERAS_MAX,
        description='Registered camera ids, or ["*"] for every camera (then others are '
        "redundant); an unknown camera is a 409.",
    ),
]
Every = Annotated[
    float, Field(ge=EVERY_MIN, le=EVERY_MAX, strict=True,  # strict: true is not 1 s
                 description="Seconds between evaluations.")
]
Window = Annotated[
    float, Field(ge=WINDOW_MIN, le=WINDOW_MAX, strict=True,
                 description="Seconds of video per evaluation.")
]
AnswererType = Annotated[
    str, Field(json_schema_extra=_publish_answerers, description="Answerer type.")
]
AnswererSettings = Annotated[
    dict[str, Any],
    Field(description="Answerer-specific options.", json_schema_extra=_publish_settings),
]
"""Checked by the answerer's own settings model (unknown keys refused); weights, device,
batch size and frame selection are the deployment's, never a query's; finite numbers,
nested at most ``pipeline.query_rules.SETTINGS_DEPTH`` deep, at most ``SETTINGS_BYTES`` as JSON."""


BackfillSeconds = Annotated[float, Field(gt=0, le=MAX_BACKFILL, strict=True)]
BackfillText = Annotated[
    str,
    Field(pattern=r"^[1-9][0-9]{0,5}[smhd]$", description="A duration: 90s, 30m, 2h, 1d."),
]


class QueryCreate(StrictModel):
    """A question to subscribe to cameras. ``window`` ≥ ``every``, or 409 (a rule across
    fields, which JSON Schema cannot state)."""

    question: Question
    cameras: Cameras = Field(default_factory=lambda: ["*"])
    every: Every = 1.0
    window: Window = 4.0
    answerer: AnswererType = "clip"
    settings: AnswererSettings = Field(default_factory=dict)
    backfill: BackfillSeconds | BackfillText | None = Field(
        default=None,
        description="Stored history to answer first, from the frame index: seconds "
        f'(0 < s <= {MAX_BACKFILL:.0f}) or a duration such as "30m", "2h", "1d" (a '
        "longer duration is cut to the most the index answers). Those answers are marked "
        "backfilled; then the query goes live.",
        examples=["30m", 1800],
    )

    @field_validator("backfill")
    @classmethod
    def _b(cls, value: float | str | None) -> float | None:
        if isinstance(value, str):
            return min(parse_duration(value, "backfill", most=math.inf), MAX_BACKFILL)
        return value

    @field_validator("question")
    @classmethod
    def _q(cls, value: str) -> str:
        return _clean_question(value)

    @field_validator("cameras")
    @classmethod
    def _c(cls, value: list[str]) -> list[str]:
        return _clean_cameras(value)

    @field_validator("answerer")
    @classmethod
    def _a(cls, value: str) -> str:
        return _check_answerer(value)

    @field_validator("settings")
    @classmethod
    def _s(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_settings(value, info)


class QueryUpdate(StrictModel):
    """A partial update: only the given fields change; the version goes up by one. A
    window shorter than the (given or stored) every is a 409."""

    question: Question | None = None
    cameras: Cameras | None = None
    every: Every | None = None
    window: Window | None = None
    answerer: AnswererType | None = None
    settings: AnswererSettings | None = None

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

    @field_validator("settings")
    @classmethod
    def _s(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        return None if value is None else _check_settings(value, info)


class QueryOut(QueryFields):
    """A standing query as stored (the queries topic's message) with its creation time;
    ``failed`` while its current version is set aside, the other queries going on."""

    created_at: float | None = None
    status: Literal["active", "failed"] = "active"
    error: QueryError | None = Field(None, description="Why it failed; a new version clears it.")


class EvidenceRef(BaseModel):
    """One evidence keyframe of an answer; fetch the JPEG from ``url``."""

    index: int
    t: float
    box: tuple[float, float, float, float] = Field(
        description="RoI as normalised (x0, y0, x1, y1)."
    )
    url: str


class AnswerOut(AnswerFields):
    """One evaluation of one query on one camera window: the answers topic's message with
    its row id, evidence as links."""

    id: int
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


class FieldError(BaseModel):
    """What is wrong with one field (FastAPI's validation error shape)."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None


class FieldErrors(BaseModel):
    detail: list[FieldError]
