"""``/api/queries/{id}/cameras``: a question's newest answers, camera by camera.

A dashboard card shows one row per camera the question watches: that camera's latest
answer, keyframes and timeline. One request per card returns all of them, so a card
costs the same request whatever its camera count; a camera answering every second
never pushes a quiet camera's answers out of the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from workers.api.auth import read_access
from workers.api.context import ApiContext, context
from workers.api.routes_answers import answer_out
from workers.api.schemas import AnswerOut, ErrorBody

router = APIRouter(prefix="/api/queries", tags=["queries"])
PER_CAMERA_MAX = 60
ANSWERS_MAX = 2000  # answers in one response, whatever the camera count
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such query"}}


class CameraAnswers(BaseModel):
    """One camera's newest answers to the question, newest first (none yet: empty)."""

    camera: str
    answers: list[AnswerOut]


class QueryCameras(BaseModel):
    query_id: str
    per_camera: int = Field(description="Answers per camera returned at most")
    cameras: list[CameraAnswers] = Field(
        description="Every camera the question watches, in the question's order "
        "(``*``: every registered camera and every camera that answered, by id)")


def _cameras(ctx: ApiContext, watched: tuple[str, ...]) -> list[str]:
    if "*" not in watched:
        return list(watched)
    return sorted(set(ctx.data.cameras()) | set(ctx.data.last_answer_times()))


def _per_camera(ctx: ApiContext, query_id: str, per_camera: int) -> QueryCameras:
    stored = ctx.data.query(query_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"query {query_id!r} not found")
    cameras = _cameras(ctx, tuple(stored.query.cameras))
    per_camera = max(1, min(per_camera, ANSWERS_MAX // max(len(cameras), 1)))
    found = ctx.data.answers_per_camera(query_id, cameras, per_camera)
    return QueryCameras(query_id=query_id, per_camera=per_camera, cameras=[
        CameraAnswers(camera=c, answers=[answer_out(a) for a in found[c]]) for c in cameras])


@router.get("/{query_id}/cameras", response_model=QueryCameras, dependencies=[read_access],
            responses=NOT_FOUND, summary="The question's newest answers, per camera")
async def get_query_cameras(
    query_id: str,
    ctx: ApiContext = Depends(context),
    per_camera: Annotated[int, Query(
        ge=1, le=PER_CAMERA_MAX,
        description="Newest answers per camera (fewer when the cameras times this "
        f"passes {ANSWERS_MAX})")] = 20,
) -> QueryCameras:
    """Each camera the question watches with its newest answers (evidence URLs as in
    ``/api/answers``): what a dashboard card draws, one row per camera."""
    return await run_in_threadpool(_per_camera, ctx, query_id, per_camera)
