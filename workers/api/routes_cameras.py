"""``/api/cameras``: cameras with their live stream status, and registering one.

A camera is known when the store has it (the embedded run and ``PUT`` register
cameras), when the live registry heard from its stream, or when it has answers.
Source URIs are shown without credentials or query strings.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from enum import StrEnum
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connectors.video.uri import (
    CAMERA_ID,
    CAMERA_ID_RULE,
    NETWORK_SCHEMES,
    check_network_uri,
    is_local,
)
from pipeline.errors import ConfigError
from workers.api.auth import read_access, write_access
from workers.api.context import ApiContext, context
from workers.api.guard import check_room
from workers.api.live import CameraLive
from workers.api.schemas import FieldErrors, StrictModel

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CameraState(StrEnum):
    """Live state of a camera stream, from the video source's status events."""

    connecting = "connecting"
    connected = "connected"
    stalled = "stalled"
    reconnecting = "reconnecting"
    ended = "ended"
    unknown = "unknown"


class CameraIn(StrictModel):
    """Registering a camera; ``source`` is informational (ingest workers open it)."""

    source: str = Field(default="", max_length=2000, description="Its video URI.")


class StreamOut(BaseModel):
    """A camera's video stream as measured (fps and GOP once enough of it was seen)."""

    codec: str = Field(description="Video codec, e.g. h264, hevc, mjpeg.")
    width: int | None = Field(default=None, ge=0, description="Coded width in pixels.")
    height: int | None = Field(default=None, ge=0, description="Coded height in pixels.")
    fps: float | None = Field(default=None, ge=0, description="Frames per second.")
    gop_s: float | None = Field(default=None, ge=0, description="Keyframe interval, s.")


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
    stream: StreamOut | None = Field(
        default=None, description="The video stream, once its status reported it."
    )
    source_error: str | None = Field(
        default=None,
        description="Why the stored source is not shown: it does not parse as a URI (stored "
        "before sources were checked); register the camera again to fix it.",
    )


def redact(uri: str) -> str | None:
    """``rtsp://user:pass@host/x?token=y`` → ``rtsp://***@host/x``: never show secrets
    (ValueError for a URI that does not parse)."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = ("***@" if parts.username or parts.password else "") + host
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _state(live: CameraLive | None) -> CameraState:
    try:
        return CameraState(live.status) if live else CameraState.unknown
    except ValueError:
        return CameraState.unknown


def unless_silent(live: CameraLive, stale_after: float, now: float) -> CameraLive:
    """A camera its ingest reports connected but that went silent is shown stalled:
    a killed ingest process cannot say so itself (Kafka mode only, see ``heard_at``)."""
    silent = None if live.heard_at is None else now - live.heard_at
    if live.status != "connected" or silent is None or silent <= stale_after:
        return live
    detail = f"no status from its ingest process for {silent:.0f}s"
    return replace(live, status="stalled", detail=detail)


def known_cameras(ctx: ApiContext) -> set[str]:
    """Cameras in the store, heard by the live registry, or with stored answers."""
    return set(ctx.data.cameras()) | set(ctx.registry.all()) | set(ctx.data.last_answer_times())


def _shown(source: str) -> tuple[str | None, str | None]:
    """The source as listed, or why it is not (a bad stored row never fails the list)."""
    try:
        return redact(source), None
    except ValueError as exc:
        return None, f"the stored source does not parse ({exc})"


def _camera(camera: str, source: str, live: CameraLive | None, answered: float | None) -> CameraOut:
    shown, error = _shown(source)
    return CameraOut(
        id=camera,
        source=shown,
        source_error=error,
        status=_state(live),
        status_since=live.status_since if live else None,
        last_segment_at=live.last_segment_at if live else None,
        last_answer_at=answered,
        detail=live.detail if live else None,
        stream=live.stream if live else None,  # validated into a StreamOut
    )


def _camera_list(ctx: ApiContext) -> list[CameraOut]:
    stored, now = ctx.data.cameras(), time.time()
    stale = ctx.settings.status_stale_s
    live = {c: unless_silent(v, stale, now) for c, v in ctx.registry.all().items()}
    answered = ctx.data.last_answer_times()
    ids = sorted(set(stored) | set(live) | set(answered))
    return [_camera(c, stored.get(c, ""), live.get(c), answered.get(c)) for c in ids]


def _check_source(source: str, allow_local: bool) -> None:
    """Only network cameras, parsed completely (host, port 1-65535, IPv6 literal),
    unless ``FEEDWATCH_API_ALLOW_LOCAL_SOURCES`` is set: an API client must not point
    ingest at files or devices of the machine that runs it (the schema says so too, see
    :mod:`workers.api.openapi`). Whatever is stored lists and opens later."""
    if not source:
        return
    if _CONTROL.search(source):
        _refuse(source, "printable text, no control characters")
    if allow_local and _local(source):
        return
    try:
        check_network_uri(source)
    except ConfigError as exc:
        allowed = ", ".join(f"{s}://" for s in sorted(NETWORK_SCHEMES))
        local = "" if allow_local else "; local files and devices need allow_local_sources"
        _refuse(source, f"a network source ({allowed}): {exc.allowed}{local}")


def _local(source: str) -> bool:
    try:
        return is_local(source)
    except ValueError:  # not even a URI: a network one that is checked and refused
        return False


def _refuse(source: str, msg: str) -> NoReturn:
    detail = [{"loc": ["body", "source"], "msg": msg, "type": "value_error",
               "input": source[:80]}]
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _register(ctx: ApiContext, camera: str, body: CameraIn) -> CameraOut:
    stored = ctx.data.cameras()
    if camera not in stored:
        check_room(len(stored), ctx.settings.max_items, "cameras", ("path", "camera_id"))
    ctx.data.store.upsert_camera(camera, body.source)
    return _camera(camera, body.source, ctx.registry.get(camera), None)


@router.get("", response_model=list[CameraOut], dependencies=[read_access], summary="List cameras")
async def list_cameras(ctx: ApiContext = Depends(context)) -> list[CameraOut]:
    """Every known camera, its stream state (connected, stalled, reconnecting, ended,
    or unknown when this process hears no status events; in Kafka mode they come from
    the status topic, and a connected camera silent for ``status_stale_s`` is shown
    stalled) and the newest segment and answer times (UTC epoch seconds)."""
    return await run_in_threadpool(_camera_list, ctx)


@router.put(
    "/{camera_id}",
    response_model=CameraOut,
    dependencies=[write_access],
    summary="Register a camera (so questions can name it before it has answers)",
    responses={409: {"model": FieldErrors, "description": "As many cameras as allowed "
                     "are registered (FEEDWATCH_API_MAX_ITEMS)"}},
)
async def register_camera(
    body: CameraIn,
    camera_id: str = Path(
        pattern=CAMERA_ID, description=CAMERA_ID_RULE
    ),
    ctx: ApiContext = Depends(context),
) -> CameraOut:
    from connectors.video.uri import check_camera  # noqa: PLC0415 - the one naming rule

    try:
        check_camera(camera_id)
    except ConfigError as exc:
        detail = [{"loc": ["path", "camera_id"], "msg": exc.allowed, "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from exc
    _check_source(body.source, ctx.settings.allow_local_sources)
    return await run_in_threadpool(_register, ctx, camera_id, body)
