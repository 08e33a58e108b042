"""One pydantic model per message on the bus: the contract a third party validates against.

JSON bodies (queries, answers) are validated strictly (a number is never read from a
string); headers (segments, dead letters) are text and parsed to their types. Fields
a model does not know are ignored, so a newer producer may add fields; a new field
needs a default so older messages stay valid. The models' field names are the field
names of the domain objects in :mod:`pipeline.types`, so converting between them
names no field. The API (:mod:`workers.api.schemas`) and the CLI's JSON lines derive
from the ``*Fields`` models; ``feedwatch schema TOPIC`` prints their JSON Schema.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from connectors.bus.wire import (
    SCHEMA_VERSION,
    SEGMENT_MAX_S,
    Box,
    CameraId,
    Finite,
    Text,
    Time,
    Versioned,
    Wire,
    plain,
)
from connectors.video.uri import check_camera
from pipeline.errors import ConfigError
from pipeline.query_rules import (
    CAMERAS_MAX,
    EVERY_MAX,
    QUERY_ID,
    QUERY_ID_RULE,
    WINDOW_MAX,
    check_every,
    check_settings,
    check_window,
)
from pipeline.questions import clean_question
from pipeline.timings import EVENTS
from pipeline.types import Answer, Evidence, Segment, StandingQuery

# ---------------------------------------------------------------- segments


class SegmentHeader(Versioned):
    """The headers of a ``segments`` record, UTF-8 text (value: container bytes; key: camera)."""

    camera: CameraId
    seq: int = Field(ge=0)
    start: Time = Field(description="Stream time of the first frame, UTC epoch s.")
    duration: Finite = Field(ge=0, le=SEGMENT_MAX_S, description="Seconds.")
    container: Text = Field(description="Container format, e.g. mpegts.")
    codec: Text = Field(description="Video codec, e.g. h264.")
    width: int = Field(default=0, ge=0)
    height: int = Field(default=0, ge=0)
    lead: Finite = Field(
        default=0.0,
        ge=0,
        le=SEGMENT_MAX_S,
        description="Seconds of packets carried before start (from the keyframe a mid-GOP "
        "segment needs); those frames are decoded only to reach the segment's own.",
    )
    rotation: int = Field(
        default=0,
        ge=0,
        lt=360,
        multiple_of=90,
        description="Degrees to turn the frames counterclockwise to show them upright "
        "(the source's display matrix).",
    )
    closed_at: Finite = Field(
        default=0.0,
        ge=0,
        description="When ingest cut the segment, UTC epoch s on its wall clock (0: not "
        "recorded); the first event of an answer's timings.",
    )

    def to_segment(self, data: bytes) -> Segment:
        return Segment(data=data, **self.fields())


# ---------------------------------------------------------------- queries


class QueryFields(Wire):
    """A standing question subscribed to cameras."""

    id: Text
    question: Text
    cameras: tuple[Text, ...] = Field(min_length=1, description='Camera ids, or ["*"].')
    every: Finite = Field(gt=0, description="Seconds between evaluations.")
    window: Finite = Field(gt=0, description="Seconds of video per evaluation; >= every.")
    answerer: Text = Field(description="Answerer type (clip, vlm, ...).")
    settings: dict[str, Any] = Field(description="Answerer-specific options.")
    version: int = Field(ge=1, le=2**31 - 1, description="Goes up by one with every change.")

    @field_validator("question")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _window_covers_every(self) -> Self:
        if self.window < self.every:
            raise ValueError(f"window ({self.window:g} s) must be >= every ({self.every:g} s)")
        return self

    def to_query(self) -> StandingQuery:
        return StandingQuery(**self.fields())


class QueryMessage(Versioned, QueryFields):
    """The value of a ``queries`` record (key = id; a null value deletes the query).

    Checked by the rules the API checks a new query by (:mod:`pipeline.query_rules`,
    :func:`~pipeline.questions.clean_question`, the camera-id rule), so a message the
    API would refuse is refused here and dead-lettered by its consumer."""

    id: str = Field(min_length=1, max_length=128, pattern=QUERY_ID,
                    description=f"The query's id: {QUERY_ID_RULE}.")

    @model_validator(mode="after")
    def _as_the_api_would(self) -> Self:
        try:
            clean_question(self.question)
            check_cameras(self.cameras)
            check_window(self.window, check_every(self.every))
            check_settings(self.answerer, self.settings)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


def check_cameras(cameras: Sequence[str]) -> None:
    """At most :data:`CAMERAS_MAX` camera ids, or ``"*"``."""
    if len(cameras) > CAMERAS_MAX:
        raise ConfigError("cameras", f"{len(cameras)} cameras", f"at most {CAMERAS_MAX}")
    for camera in cameras:
        if camera != "*":
            check_camera(camera)


# ---------------------------------------------------------------- answers


class EvidenceItem(Wire):
    """A small JPEG of one selected frame, its RoI box drawn, base64-encoded."""

    t: Finite = Field(description="Frame time.")
    box: Box
    jpeg: str = Field(
        description="The JPEG bytes, base64 (RFC 4648).",
        json_schema_extra={"contentEncoding": "base64", "contentMediaType": "image/jpeg"},
    )

    @field_validator("jpeg")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not base64") from exc
        return value

    @classmethod
    def of_evidence(cls, e: Evidence) -> EvidenceItem:
        return cls.of(e, jpeg=base64.b64encode(e.jpeg).decode("ascii"))

    def to_evidence(self) -> Evidence:
        return Evidence(t=self.t, box=self.box, jpeg=base64.b64decode(self.jpeg))


class AnswerFields(Wire):
    """One evaluation of one standing query on one camera window."""

    query_id: Text
    question: str
    camera: CameraId
    window_start: Time
    window_end: Time
    evaluated_at: Time = Field(description="UTC epoch s.")
    answerer: str
    text: str
    matched: bool | None = None
    score: Finite | None = None
    frames: tuple[Finite, ...] = Field(description="Times of the selected frames.")
    rois: tuple[Box, ...] = Field(description="RoI of each selected frame.")
    visual_tokens: int = Field(ge=0, le=2**31 - 1, description="Visual tokens fed to the answerer.")
    latency_ms: Finite
    model_ids: dict[str, str] = Field(default_factory=dict)
    stages: dict[str, Any] = Field(
        default_factory=dict, description="What each answerer stage said (cascade)."
    )
    backfilled: bool = Field(
        default=False, description="Answered later over stored history, not live."
    )
    every: Finite | None = Field(
        default=None, gt=0, le=EVERY_MAX, description="The query's step (s) when answered: "
        "each matched window counts as matched for [window_end - every, window_end)."
    )
    query_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1,
        description="The query's version when answered: a new version ends a run.",
    )

    @model_validator(mode="after")
    def _window_in_order(self) -> Self:
        if not 0 <= self.window_end - self.window_start <= WINDOW_MAX:
            raise ValueError(f"window_start..window_end must be 0 to {WINDOW_MAX:g} s long")
        return self


def answer_json(answer: Answer) -> dict[str, Any]:
    """The public JSON of an answer (the CLI's ``--json`` line, ``feedwatch answers``):
    the answers topic's message without its evidence images."""
    return AnswerFields.of(answer).model_dump(mode="json", fallback=plain)


class AnswerMessage(Versioned, AnswerFields):
    """The value of an ``answers`` record (key = query id)."""

    evidence: tuple[EvidenceItem, ...] = ()
    timings: dict[str, Finite] = Field(
        default_factory=dict,
        max_length=len(EVENTS),
        description="The latency waterfall: when the answer passed each point of its path "
        f"(UTC epoch s), keyed by event: {', '.join(EVENTS)} (pipeline.timings). Travels on "
        "the bus only; the stored row does not keep it.",
    )

    @field_validator("timings")
    @classmethod
    def _known_events(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r}; allowed: {', '.join(EVENTS)}")
        return value

    @classmethod
    def of_answer(cls, answer: Answer) -> AnswerMessage:
        evidence = tuple(EvidenceItem.of_evidence(e) for e in answer.evidence)
        return cls.of(answer, schema=SCHEMA_VERSION, evidence=evidence)

    def to_answer(self) -> Answer:
        evidence = tuple(e.to_evidence() for e in self.evidence)
        return Answer(**self.fields(exclude=("evidence",)), evidence=evidence)
