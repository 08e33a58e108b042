"""``/api/deadletters``: what could not be processed, and why (the store's dead letters).

A corrupt segment, a malformed message, an answer the store refused: each went to the
``deadletter`` topic, and the sink keeps it in the store
(:mod:`connectors.store.dead_letters`) in both modes. Newest first, with a count by
stage, so an operator asking "why did this camera stop answering at 14:02?" sees it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connectors.store.dead_letters import DeadLetterLog
from workers.api.auth import read_access
from workers.api.context import ApiContext, context

router = APIRouter(prefix="/api/deadletters", tags=["operations"], dependencies=[read_access])
PAGE_MAX = 1000
EPOCH_MAX = 1e11  # far past any clock, inside a float's exact seconds


class DeadLetterOut(BaseModel):
    """One dead letter: where the failed record came from and why it failed."""

    id: int
    at: float = Field(description="When it was written, UTC epoch s.")
    stage: str = Field(description="Where it failed: perceive, sink, queries, ...")
    topic: str = Field(description="The topic of the failed record.")
    partition: int = Field(description="Its partition (-1: unknown).")
    offset: int = Field(description="Its offset (-1: unknown).")
    camera: str
    error_type: str
    message: str
    key: str = Field(description="The failed record's key, as text.")
    value_bytes: int | None = Field(description="The size of its value (kept on the topic).")


class DeadLetterPage(BaseModel):
    """The newest dead letters matching, and every one since ``since`` by stage."""

    dead_letters: list[DeadLetterOut]
    by_stage: dict[str, int]


Epoch = Annotated[float | None, Query(ge=0, le=EPOCH_MAX, allow_inf_nan=False,
                                      description="UTC epoch seconds.")]


@router.get("", response_model=DeadLetterPage, summary="Dead letters, newest first")
async def dead_letters(
    since: Epoch = None,
    until: Epoch = None,
    stage: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    camera: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description="Page size.")] = 100,
    ctx: ApiContext = Depends(context),
) -> DeadLetterPage:
    """Written in [since, until) (an empty or reversed range selects none), by stage and
    camera when given."""
    book = DeadLetterLog(ctx.data.store.engine)

    def read() -> DeadLetterPage:
        if since is not None and until is not None and until <= since:
            return DeadLetterPage(dead_letters=[], by_stage={})
        found = book.read(since=since, until=until, stage=stage, camera=camera, limit=limit)
        return DeadLetterPage(dead_letters=[DeadLetterOut(**e.as_json()) for e in found],
                              by_stage=book.counts(since=since))

    return await run_in_threadpool(read)
