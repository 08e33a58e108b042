"""``/api/search`` and ``/api/frames``: text search over stored video, frame thumbnails."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pipeline.errors import ConfigError
from pipeline.questions import QUESTION_MAX, clean_question
from workers.api.auth import read_access
from workers.api.schemas import ErrorBody, publish_question_pattern
from workers.history.search import moment_json
from workers.history.service import HistoryService

router = APIRouter(prefix="/api", tags=["history"], dependencies=[read_access])
MAX_FRAME_ID = 2**63 - 1


class MomentOut(BaseModel):
    """One search hit: a run of matching frames of one camera, reported at its best frame."""

    camera: str
    t: float = Field(description="Time of the best frame (UTC epoch s; file: s from start).")
    score: float = Field(description="Cosine similarity of the best frame with the text.")
    thumbnail: str = Field(description="URL of the best frame's thumbnail (JPEG).")
    box: list[float] | None = Field(
        default=None, description="Normalised (x0, y0, x1, y1) the text points at, if known."
    )
    frame_id: int
    start: float = Field(description="First matching frame of the moment.")
    end: float = Field(description="Last matching frame of the moment.")
    frames: int = Field(description="Frames grouped into the moment.")


class SearchPage(BaseModel):
    """The best moments for a text, best first."""

    items: list[MomentOut]


def history(request: Request) -> HistoryService:
    service: HistoryService = request.app.state.history
    return service


@router.get(
    "/search",
    response_model=SearchPage,
    responses={
        409: {
            "model": ErrorBody,
            "description": "No frames indexed yet, or the index was built with another model",
        }
    },
    summary="Search stored video by text",
)
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=QUESTION_MAX,
            json_schema_extra=publish_question_pattern,
            description="What to look for (printable text, like a question).",
        ),
    ],
    camera: Annotated[list[str] | None, Query(description="Only these cameras.")] = None,
    since: Annotated[float | None, Query(allow_inf_nan=False,
                                         description="Frames at or after this time.")] = None,
    until: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="Frames before this time (<= since: none)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many moments.")] = 10,
) -> SearchPage:
    """Ranked moments (neighbouring frames of one camera are one hit), encoded with the
    model the index was built with."""
    service = history(request)
    try:
        clean_question(q)  # the question rule the schema publishes: a 422 naming q
    except ConfigError as exc:
        detail = [{"loc": ["query", "q"], "msg": exc.allowed, "type": "value_error",
                   "input": q[:80]}]
        raise HTTPException(status_code=422, detail=detail) from None
    if since is not None and until is not None and until <= since:
        return SearchPage(items=[])
    try:
        searcher = await run_in_threadpool(service.searcher)
        moments = await run_in_threadpool(
            searcher.search, q, cameras=camera or (), since=since, until=until, limit=limit
        )
    except ConfigError as exc:  # the query is valid (the schema says so): the store is not
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return SearchPage(items=[MomentOut(**moment_json(m)) for m in moments])


@router.get(
    "/frames/{frame_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The frame's thumbnail"},
        404: {"model": ErrorBody, "description": "No such frame"},
    },
    summary="Thumbnail of one indexed frame",
)
async def thumbnail(
    request: Request,
    frame_id: Annotated[int, Path(ge=0, le=MAX_FRAME_ID, description="A frame id.")],
) -> Any:
    jpeg = await run_in_threadpool(history(request).thumbnail, frame_id)
    if jpeg is None:
        raise HTTPException(status_code=404, detail=f"no frame {frame_id}")
    return Response(jpeg, media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})
