"""``/api/backfills``: the background jobs that answer a new query over stored history.

``POST /api/queries`` with ``backfill`` stores the query and a queued job and returns
at once (:func:`start`); the API process's runner (:mod:`workers.history.jobs`) answers
the history a page of frames at a time. Jobs are rows in the store, so every API
process reports the same progress and any of them may cancel one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from connectors.store.backfills.schema import BackfillJob
from connectors.store.backfills.wire import BackfillOut
from pipeline.history.backfill import most_windows
from pipeline.types import StandingQuery
from workers.api.auth import read_access, write_access
from workers.api.schemas import ErrorBody, QueryOut, field_error
from workers.config import ApiSettings

if TYPE_CHECKING:  # the app hands the service over on app.state
    from workers.history.service import HistoryService

router = APIRouter(prefix="/api", tags=["backfills"])
JobId = Annotated[str, Path(min_length=1, max_length=32, description="Backfill job id.")]
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such backfill"}}
RETRY_AFTER_S = 30
BUSY = {
    429: {
        "model": ErrorBody,
        "description": "With ``backfill``: too many backfills queued or running "
        "(FEEDWATCH_API_BACKFILL_MAX_ACTIVE); or too many invalid tokens from this address "
        "lately (FEEDWATCH_API_AUTH_FAILURES per FEEDWATCH_API_AUTH_WINDOW_S). Retry after "
        "``Retry-After`` seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}


class QueryCreated(QueryOut):
    """The query as stored, and the backfill job answering its history (only when one
    was asked for)."""

    backfill: BackfillOut | None = None


def history(request: Request) -> HistoryService:
    service: HistoryService = request.app.state.history
    return service


def check(api: ApiSettings, service: HistoryService, query: StandingQuery, seconds: float) -> None:
    """Refuse a backfill over the window bound (409 naming ``backfill``: a rule across
    fields, which JSON Schema cannot state, like ``window`` ≥ ``every``) or while too
    many run (429), before anything is stored."""
    cameras = len(service.index.cameras()) if "*" in query.cameras else len(query.cameras)
    windows = most_windows(seconds, query.every) * max(1, cameras)
    if windows > api.backfill_max_windows:
        raise field_error(
            "backfill", seconds,
            f"{seconds:g}s every {query.every:g}s on {max(1, cameras)} camera(s) is up to "
            f"{windows} windows; at most {api.backfill_max_windows} (a shorter backfill, "
            "a longer every, or fewer cameras)",
            code=status.HTTP_409_CONFLICT,
        )
    if service.jobs.active() >= api.backfill_max_active:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{api.backfill_max_active} backfills are queued or running; retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


def start(service: HistoryService, query: StandingQuery, seconds: float) -> BackfillJob:
    """Queue the job and wake this process's runner."""
    return service.runner.submit(query, seconds)


def _found(service: HistoryService, job_id: str) -> BackfillJob:
    job = service.jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"backfill {job_id!r} not found")
    return job


def _cancel(service: HistoryService, job_id: str) -> BackfillJob:
    job = _found(service, job_id)
    if not service.jobs.cancel(job_id, "cancelled by a client"):
        job = _found(service, job_id)
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"backfill {job_id!r} already finished: {job.state}"
        )
    return _found(service, job.id)


@router.get(
    "/backfills",
    response_model=list[BackfillOut],
    dependencies=[read_access],
    summary="List backfill jobs",
)
async def list_backfills(
    request: Request,
    query: Annotated[
        str | None, Query(max_length=200, description="Only this query's backfills.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
) -> list[BackfillOut]:
    """Newest first."""
    jobs = await run_in_threadpool(history(request).jobs.list, query, limit)
    return [BackfillOut.of(j) for j in jobs]


@router.get(
    "/backfills/{job_id}",
    response_model=BackfillOut,
    dependencies=[read_access],
    responses=NOT_FOUND,
    summary="Progress of one backfill",
)
async def get_backfill(job_id: JobId, request: Request) -> BackfillOut:
    """State, windows done of the total, new answers stored, and the error if it failed."""
    return BackfillOut.of(await run_in_threadpool(_found, history(request), job_id))


@router.delete(
    "/backfills/{job_id}",
    response_model=BackfillOut,
    dependencies=[write_access],
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "The backfill has already finished"},
    },
    summary="Cancel a backfill",
)
async def cancel_backfill(job_id: JobId, request: Request) -> BackfillOut:
    """A queued job never starts; a running one stops after its current window (answers
    stored so far stay). Returns the job, now ``cancelled``."""
    return BackfillOut.of(await run_in_threadpool(_cancel, history(request), job_id))


def created(out: QueryOut, job: BackfillJob | None) -> QueryCreated:
    """The 201 body of ``POST /api/queries``."""
    fields = out.model_dump()
    return QueryCreated.model_validate(
        fields if job is None else {**fields, "backfill": BackfillOut.of(job)}
    )
