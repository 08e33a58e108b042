"""``/api/answers``: stored answers (filtered, cursor-paginated), live stream, evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from connectors.store.reads import CURSOR_PATTERN, MAX_ID, AnswerFilter, StoredAnswer
from pipeline.alerts.model import INT32_MAX
from workers.api.auth import read_access
from workers.api.context import ApiContext, context
from workers.api.guard import HeldStream, StreamSlots
from workers.api.schemas import AnswerOut, AnswerPage, ErrorBody, EvidenceRef
from workers.api.sse import StreamOptions, answer_events

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/api/answers", tags=["answers"], dependencies=[read_access])
PAGE_LIMIT = 10000  # the largest page_max a deployment may configure
AnswerId = Annotated[int, Path(ge=0, le=MAX_ID, description="An answer id.")]
EvidenceIndex = Annotated[int, Path(ge=0, le=INT32_MAX, description="Index of the image.")]
NOT_FOUND: Responses = {
    404: {"model": ErrorBody, "description": "No such answer or evidence image"}
}


def answer_out(stored: StoredAnswer) -> AnswerOut:
    evidence = [
        EvidenceRef(
            index=e.idx, t=e.t, box=e.box, url=f"/api/answers/{stored.id}/evidence/{e.idx}.jpg"
        )
        for e in stored.evidence
    ]
    return AnswerOut.of(stored.answer, id=stored.id, evidence=evidence)


def answer_filter(
    query_id: Annotated[str | None, Query(description="Only this query's answers.")] = None,
    camera: Annotated[str | None, Query(description="Only this camera's answers.")] = None,
    since: Annotated[float | None, Query(allow_inf_nan=False,
                                         description="Window end ≥ this UTC epoch s.")] = None,
    until: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="Window end ≤ this UTC epoch s (< since: none)."),
    ] = None,
    matched: Annotated[
        bool | None, Query(description="Only matched (true) or unmatched (false).")
    ] = None,
) -> AnswerFilter:
    return AnswerFilter(query_id=query_id, camera=camera, since=since, until=until, matched=matched)


@router.get("", response_model=AnswerPage, summary="List answers, newest first")
async def list_answers(
    request: Request,
    f: AnswerFilter = Depends(answer_filter),
    limit: Annotated[
        int,
        Query(ge=1, le=PAGE_LIMIT, description="Page size; above page_max, page_max items."),
    ] = 50,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="``next_cursor`` of the previous page: answers before this "
            "position (window end ~ id).",
        ),
    ] = None,
    ctx: ApiContext = Depends(context),
) -> AnswerPage:
    """Ordered by window end, newest first. The cursor is a position, not an offset:
    answers stored while a client pages through never cause duplicates or skips."""
    limit = min(limit, ctx.settings.page_max)
    rows, next_cursor = await run_in_threadpool(ctx.data.answers_page, f, limit, cursor)
    return AnswerPage(items=[answer_out(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/stream",
    summary="Live answers (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "``event: answer`` frames, ``id`` = answer id",
        },
        429: {
            "model": ErrorBody,
            "description": "This token has as many streams open as allowed "
            "(FEEDWATCH_API_STREAMS_PER_TOKEN); retry after ``Retry-After`` seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def stream_answers(
    request: Request,
    f: AnswerFilter = Depends(answer_filter),
    last_event_id: Annotated[str | None, Header(description="Resume after this answer id.")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Resume after this answer id.")
    ] = None,
    ctx: ApiContext = Depends(context),
) -> StreamingResponse:
    """Each newly stored answer that passes the filters, as ``event: answer`` with the
    JSON of an answer. Without ``Last-Event-ID``/``after`` the stream starts now; a
    resume replays at most ``FEEDWATCH_API_SSE_REPLAY_MAX`` answers (1000), one from
    further back gets ``event: gap`` first, naming the ids skipped. A token may hold a
    few streams open at once (8 by default); one more is a 429."""
    start = after if after is not None else _event_id(last_event_id)
    resuming = start is not None
    if start is None:
        start = await run_in_threadpool(ctx.data.last_answer_id)
    s = ctx.settings
    options = StreamOptions(s.sse_poll_s, s.sse_keepalive_s, ctx.closing,
                            replay_max=s.sse_replay_max)
    events = answer_events(ctx.data, ctx.notifier, f, start, _render, options, resuming)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    slots: StreamSlots = request.app.state.stream_slots
    release = slots.take(slots.key(request))  # last: nothing after it may fail and leak it
    return HeldStream(events, media_type="text/event-stream", headers=headers, release=release)


def _render(stored: StoredAnswer) -> dict[str, object]:
    return answer_out(stored).model_dump()


def _event_id(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is None or 0 <= value <= MAX_ID else None


@router.get("/{answer_id}", response_model=AnswerOut, responses=NOT_FOUND, summary="Get one answer")
async def get_answer(answer_id: AnswerId, ctx: ApiContext = Depends(context)) -> AnswerOut:
    found = await run_in_threadpool(ctx.data.answer, answer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"answer {answer_id} not found")
    return answer_out(found)


@router.get(
    "/{answer_id}/evidence/{index}.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The keyframe, RoI box drawn"},
        **NOT_FOUND,
    },
    summary="Evidence keyframe of an answer",
)
async def get_evidence(
    answer_id: AnswerId, index: EvidenceIndex, ctx: ApiContext = Depends(context)
) -> Response:
    jpeg = await run_in_threadpool(ctx.data.evidence_jpeg, answer_id, index)
    if jpeg is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"answer {answer_id} has no evidence image {index}"
        )
    return Response(
        jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )
