"""``/api/queries``: subscribe, change and unsubscribe standing questions.

Every change is written to the store and, when the API has a bus, published to the
compacted queries topic (a tombstone on delete). If publishing fails the store
change is undone and the client gets 503, so store and topic do not drift apart.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from connectors.bus.messages import encode_query
from connectors.store.backfills.schema import BackfillJob
from connectors.store.reads import StoredQuery
from pipeline.errors import BusError, ConfigError
from pipeline.extensions import answerer_types
from pipeline.query_rules import check_settings, excerpt
from pipeline.types import StandingQuery
from workers.api import routes_backfills as backfills
from workers.api.auth import read_access, write_access
from workers.api.context import ApiContext, context
from workers.api.guard import check_room
from workers.api.routes_cameras import known_cameras
from workers.api.schemas import (
    ErrorBody,
    FieldErrors,
    QueryCreate,
    QueryOut,
    QueryUpdate,
    check_window,
    field_error,
)

log = logging.getLogger(__name__)
Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/api", tags=["queries"])
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such query"}}
CONFLICT: Responses = {
    409: {
        "model": FieldErrors,
        "description": "A camera is not registered, or window < every (given or stored)",
    }
}
CREATE_CONFLICT: Responses = {
    409: {
        "model": FieldErrors,
        "description": "A camera is not registered, window < every, or backfill / every × "
        "cameras is over FEEDWATCH_API_BACKFILL_MAX_WINDOWS",
    }
}
UNAVAILABLE: Responses = {
    503: {"model": ErrorBody, "description": "The queries topic could not be written"}
}


def _out(stored: StoredQuery) -> QueryOut:
    return QueryOut.of(stored.query, created_at=stored.created_at, status=stored.status,
                       error=stored.failure)


def _check_cameras(ctx: ApiContext, cameras: list[str]) -> None:
    if cameras == ["*"]:
        return
    known = known_cameras(ctx)
    for i, camera in enumerate(cameras):
        if camera not in known:
            allowed = ", ".join(sorted(known)) or "none registered yet"
            raise field_error(
                "cameras",
                camera,
                f"unknown camera {camera!r}; known: {allowed}; or use '*'",
                index=i,
                code=status.HTTP_409_CONFLICT,
            )


def _check_window(window: float, every: float, field: str) -> None:
    try:
        check_window(window, every)
    except ValueError as exc:
        raise field_error(field, window, str(exc), code=status.HTTP_409_CONFLICT) from exc


def _found(ctx: ApiContext, query_id: str) -> StoredQuery:
    stored = ctx.data.query(query_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"query {query_id!r} not found")
    return stored


def _unavailable(exc: BusError) -> HTTPException:
    log.warning("queries topic not written: %s", exc)
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"queries topic unavailable: {exc}"
    )


def _encodable(query: StandingQuery, field: str) -> StandingQuery:
    """The query checked and encoded as the bus carries it before anything is stored,
    its settings in the types the answerer reads: settings that are another answerer's
    (or stored ones the rules now refuse) are a 409 and leave no row."""
    conflict = status.HTTP_409_CONFLICT
    try:
        query = replace(query, settings=check_settings(query.answerer, query.settings))
        encode_query(query)
    except ConfigError as exc:
        raise field_error("settings", excerpt(query.settings), str(exc), code=conflict) from None
    except ValueError as exc:  # the message model refused it (a pydantic ValidationError)
        raise field_error(field, None, _first_error(exc), code=conflict) from None
    return query


def _first_error(exc: ValueError) -> str:
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    return str(errors[0]["msg"]) if errors else str(exc).splitlines()[0][:200]


def _create(
    ctx: ApiContext, body: QueryCreate, history: Any = None
) -> tuple[StoredQuery, BackfillJob | None]:
    _check_window(body.window, body.every, "window")
    _check_cameras(ctx, body.cameras)
    check_room(len(ctx.data.queries()), ctx.settings.max_items, "standing queries")
    query = StandingQuery(
        id=uuid.uuid4().hex[:16],
        question=body.question,
        cameras=tuple(body.cameras),
        every=body.every,
        window=body.window,
        answerer=body.answerer,
        settings=dict(body.settings),
    )
    query = _encodable(query, "settings")
    if history is not None and body.backfill:
        backfills.check(ctx.settings, history, query, body.backfill)
    stored = ctx.data.save_query(query)
    try:
        ctx.publisher.put(query)
    except BusError as exc:
        ctx.data.delete_query(query.id)
        raise _unavailable(exc) from exc
    if history is None or not body.backfill:
        return stored, None
    return stored, backfills.start(history, query, body.backfill)


def _update(ctx: ApiContext, query_id: str, body: QueryUpdate) -> StoredQuery:
    with ctx.query_lock(query_id):
        return _update_locked(ctx, query_id, body)


def _update_locked(ctx: ApiContext, query_id: str, body: QueryUpdate) -> StoredQuery:
    """The stored version is written over only if unchanged since read (another API
    process may race this one too): a query deleted meanwhile is a 404, changed a 409."""
    before = _found(ctx, query_id).query
    changes = body.model_dump(exclude_none=True)
    if not changes:  # nothing to change: no new version (it would restart runs and failures)
        raise field_error("body", None, "at least one of question, cameras, every, window, "
                          "answerer, settings (not null)")
    if "cameras" in changes:
        _check_cameras(ctx, changes["cameras"])
        changes["cameras"] = tuple(changes["cameras"])
    after = replace(before, **changes, version=before.version + 1)
    _check_window(after.window, after.every, "window" if "window" in changes else "every")
    after = _encodable(after, next(iter(changes), "settings"))
    stored = ctx.data.replace_query(after, before.version)
    if stored is None:  # deleted or changed since it was read: never undo that
        _found(ctx, query_id)  # 404 once deleted
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"query {query_id!r} changed meanwhile (version {before.version} was "
            "read); read it again and retry",
        )
    try:
        ctx.publisher.put(after)
    except BusError as exc:
        ctx.data.replace_query(before, after.version)
        raise _unavailable(exc) from exc
    return stored


def _delete(ctx: ApiContext, query_id: str) -> None:
    with ctx.query_lock(query_id):
        _found(ctx, query_id)
        try:
            ctx.publisher.delete(query_id)
        except BusError as exc:
            raise _unavailable(exc) from exc
        ctx.data.delete_query(query_id)


@router.get(
    "/answerers",
    response_model=list[str],
    dependencies=[read_access],
    summary="Known answerer types",
)
async def list_answerers() -> list[str]:
    return sorted(answerer_types())


@router.get(
    "/queries",
    response_model=list[QueryOut],
    dependencies=[read_access],
    summary="List standing queries",
)
async def list_queries(ctx: ApiContext = Depends(context)) -> list[QueryOut]:
    return [_out(s) for s in await run_in_threadpool(ctx.data.queries)]


@router.post(
    "/queries",
    response_model=backfills.QueryCreated,
    response_model_exclude_unset=True,  # ``backfill`` only when one was asked for
    status_code=status.HTTP_201_CREATED,
    dependencies=[write_access],
    responses={**CREATE_CONFLICT, **backfills.BUSY, **UNAVAILABLE},
    summary="Subscribe a question to cameras",
)
async def create_query(
    body: QueryCreate, request: Request, response: Response, ctx: ApiContext = Depends(context)
) -> backfills.QueryCreated:
    """Validated as the schema says (a 422 names the field in ``detail[].loc``); then
    cameras must be registered (or ``["*"]``) and ``window`` ≥ ``every`` (409). With
    ``backfill``, a background job answers the stored history (answers marked
    backfilled) while the query goes live: ``backfill.url`` reports its progress. A
    backfill over ``FEEDWATCH_API_BACKFILL_MAX_WINDOWS`` windows (range / every ×
    cameras) is a 409 naming ``backfill`` (a rule across fields, like ``window``)."""
    history = request.app.state.history if body.backfill else None
    stored, job = await run_in_threadpool(_create, ctx, body, history)
    out = backfills.created(_out(stored), job)
    response.headers["Location"] = f"/api/queries/{out.id}"
    return out


@router.get(
    "/queries/{query_id}",
    response_model=QueryOut,
    dependencies=[read_access],
    responses=NOT_FOUND,
    summary="Get one standing query",
)
async def get_query(query_id: str, ctx: ApiContext = Depends(context)) -> QueryOut:
    return _out(await run_in_threadpool(_found, ctx, query_id))


@router.patch(
    "/queries/{query_id}",
    response_model=QueryOut,
    dependencies=[write_access],
    responses={**NOT_FOUND, **CONFLICT, **UNAVAILABLE},
    summary="Change a standing query",
)
async def update_query(
    query_id: str, body: QueryUpdate, ctx: ApiContext = Depends(context)
) -> QueryOut:
    """Only the given fields change; the version goes up by one."""
    return _out(await run_in_threadpool(_update, ctx, query_id, body))


@router.delete(
    "/queries/{query_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[write_access],
    responses={**NOT_FOUND, **UNAVAILABLE},
    summary="Unsubscribe a question",
)
async def delete_query(
    query_id: str, request: Request, ctx: ApiContext = Depends(context)
) -> Response:
    """Stops evaluation and its backfills; answers already stored stay readable."""
    await run_in_threadpool(_delete, ctx, query_id)
    await run_in_threadpool(
        request.app.state.history.jobs.cancel_query, query_id, "the query was deleted"
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
