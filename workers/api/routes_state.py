"""``/api/queries/{id}/state``: what a question's trackers learned per camera, and reset.

The adaptive ``clip`` answerer keeps one tracker per (question, camera): its absent
level, spread and the levels at which it turns and stays yes, with one line on why the
newest answer is yes or no. ``DELETE`` empties them (after a camera was moved): the
worker owning the camera takes the empty tracker up at its next window.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connectors.store.tracker_states import reset_trackers, saved_trackers
from connectors.video.uri import CAMERA_ID
from pipeline.answerers.clip_settings import clip_rule
from pipeline.answerers.explain import TrackerView, describe
from workers.api.auth import read_access, write_access
from workers.api.context import ApiContext, context
from workers.api.schemas import ErrorBody

router = APIRouter(prefix="/api/queries", tags=["queries"])
Camera = Annotated[str | None, Query(pattern=CAMERA_ID,
                                     description="One camera (default: every camera).")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such query"}}


class TrackerOut(TrackerView):
    """One (question, camera) tracker."""

    camera: str
    updated_at: float


class StateOut(BaseModel):
    query_id: str
    answerer: str
    sensitivity: float
    trackers: list[TrackerOut]


class ResetOut(BaseModel):
    query_id: str
    reset: int = Field(description="Trackers emptied")


def _query(ctx: ApiContext, query_id: str) -> Any:
    stored = ctx.data.query(query_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"query {query_id!r} not found")
    return stored.query


def _state(ctx: ApiContext, query_id: str, camera: str | None) -> StateOut:
    query = _query(ctx, query_id)
    rule = clip_rule(query.settings, query.answerer)
    trackers = [
        TrackerOut(camera=t.camera, updated_at=t.updated_at, **describe(t.state, rule).to_json())
        for t in saved_trackers(ctx.data.store, query_id, camera)
    ]
    return StateOut(query_id=query_id, answerer=query.answerer, sensitivity=rule.sensitivity,
                    trackers=trackers)


def _reset(ctx: ApiContext, query_id: str, camera: str | None) -> ResetOut:
    query = _query(ctx, query_id)
    n = reset_trackers(ctx.data.store, query_id, camera)
    if camera is not None and n == 0 and "*" not in query.cameras and camera not in query.cameras:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=[{
            "loc": ["query", "camera"], "type": "value_error", "input": camera,
            "msg": f"a camera of query {query_id!r}: {', '.join(query.cameras)}"}])
    return ResetOut(query_id=query_id, reset=n)


@router.get("/{query_id}/state", response_model=StateOut, dependencies=[read_access],
            responses=NOT_FOUND, summary="What the question's trackers learned, per camera")
async def get_state(query_id: str, ctx: ApiContext = Depends(context),
                    camera: Camera = None) -> StateOut:
    """Levels and the reason for the newest answer of every (question, camera) tracker."""
    return await run_in_threadpool(_state, ctx, query_id, camera)


@router.delete("/{query_id}/state", response_model=ResetOut, dependencies=[write_access],
               responses=NOT_FOUND, summary="Reset the question's learned levels")
async def reset_state(query_id: str, ctx: ApiContext = Depends(context),
                      camera: Camera = None) -> ResetOut:
    """Empty the trackers (one camera's, when given): levels are learned afresh."""
    return await run_in_threadpool(_reset, ctx, query_id, camera)
