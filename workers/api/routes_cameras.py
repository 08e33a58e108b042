"""``/api/cameras``: registered cameras with their live stream status."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from workers.api.auth import read_access
from workers.api.context import ApiContext, context
from workers.api.live import CameraLive
from workers.api.schemas import CameraOut, CameraState

router = APIRouter(prefix="/api/cameras", tags=["cameras"], dependencies=[read_access])


def _state(live: CameraLive | None) -> CameraState:
    try:
        return CameraState(live.status) if live else CameraState.unknown
    except ValueError:
        return CameraState.unknown


def known_cameras(ctx: ApiContext) -> set[str]:
    """Cameras in the store plus any the live registry has heard from."""
    return set(ctx.data.cameras()) | set(ctx.registry.all())


def _camera_list(ctx: ApiContext) -> list[CameraOut]:
    stored = ctx.data.cameras()
    live = ctx.registry.all()
    answered = ctx.data.last_answer_times()
    out = []
    for camera in sorted(set(stored) | set(live)):
        state = live.get(camera)
        out.append(
            CameraOut(
                id=camera,
                source=stored.get(camera) or None,
                status=_state(state),
                status_since=state.status_since if state else None,
                last_segment_at=state.last_segment_at if state else None,
                last_answer_at=answered.get(camera),
                detail=state.detail if state else None,
            )
        )
    return out


@router.get("", response_model=list[CameraOut], summary="List cameras with live status")
async def list_cameras(ctx: ApiContext = Depends(context)) -> list[CameraOut]:
    """Every known camera, its stream state (connected, stalled, reconnecting, ended,
    or unknown when this process hears no status events) and the newest segment and
    answer times (UTC epoch seconds)."""
    return await run_in_threadpool(_camera_list, ctx)
