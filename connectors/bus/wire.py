"""The building blocks of the bus's message models (:mod:`connectors.bus.models`): the
base models every message derives from and the field types that bound what one forged
record can carry (times, camera ids, boxes)."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from connectors.video.uri import check_camera
from pipeline.errors import ConfigError

SCHEMA_VERSION = 1
LATEST_TIME = 1e11
"""Stream times on the wire lie within ±1e11 s (year 5138): a file's seconds from its
start (a little below 0 where its first frames are stamped so) or epoch seconds."""
SEGMENT_MAX_S = 3600.0
"""A segment's duration or lead (ingest cuts ~2 s; a long GOP makes a few tens)."""
Time = Annotated[float, Field(ge=-LATEST_TIME, le=LATEST_TIME, allow_inf_nan=False)]

Finite = Annotated[float, Field(allow_inf_nan=False)]


def _camera_id(value: str) -> str:
    try:
        return check_camera(value)  # the rule ingest, the API and queries apply
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


CameraId = Annotated[str, Field(min_length=1), AfterValidator(_camera_id)]
"""A camera id on the wire: 1-64 of A-Z a-z 0-9 . _ - (no path, no NUL, no wildcard)."""
Text = Annotated[str, Field(min_length=1)]
Box = Annotated[
    tuple[Finite, Finite, Finite, Finite],
    Field(description="Normalised (x0, y0, x1, y1) on the frame."),
]


def plain(value: Any) -> Any:
    """What JSON can carry of a value pydantic cannot serialize: a numpy scalar or array
    (an answerer's per-stage record may hold them) as Python numbers and lists."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


class Wire(BaseModel):
    """Frozen; unknown fields ignored (forward compatible); fields fill by name or alias."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    @classmethod
    def of(cls, obj: object, **extra: Any) -> Self:
        """The model of a domain object with the same field names (``extra`` wins)."""
        names = [n for n in cls.model_fields if hasattr(obj, n)]
        return cls.model_validate({**{n: getattr(obj, n) for n in names}, **extra})

    def replace(self, **changes: Any) -> Self:
        """A validated copy with ``changes`` (``dataclasses.replace`` for models)."""
        return type(self).model_validate({**dict(self), **changes})

    def fields(self, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """Field values by name, without the version: the arguments of a domain object."""
        skip = {"schema_version", *exclude}
        return {n: getattr(self, n) for n in type(self).model_fields if n not in skip}


class Versioned(Wire):
    """A message that carries the contract version (``schema``) in its body or headers."""

    schema_version: int = Field(
        alias="schema",
        ge=SCHEMA_VERSION,
        le=SCHEMA_VERSION,
        json_schema_extra={"const": SCHEMA_VERSION},
        description="Contract version of the message.",
    )
