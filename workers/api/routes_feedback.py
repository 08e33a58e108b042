"""``/api/answers/{id}/feedback``: a user says whether an answer was right.

The verdict is stored (one per answer, the latest wins) and the ``clip`` answerer of
that question on that camera reads it within seconds: the next windows are judged with
a threshold that agrees with it (see :mod:`pipeline.answerers.baseline`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from connectors.store.feedback import Feedback, add_feedback, feedback_on
from pipeline.errors import ConfigError
from workers.api.auth import read_access, write_access
from workers.api.context import ApiContext, context
from workers.api.routes_answers import NOT_FOUND, AnswerId

router = APIRouter(prefix="/api/answers", tags=["answers"])
Endpoint = Callable[..., Any]


class FeedbackIn(BaseModel):
    """Whether the answer was right."""

    model_config = ConfigDict(extra="forbid")
    correct: bool = Field(strict=True,  # "yes" or 1 is not a verdict
                          description="true: the answer was right; false: it was wrong.")


def _feedback_route(
    method: Callable[..., Callable[[Endpoint], Endpoint]], scope: Any, summary: str
) -> Callable[[Endpoint], Endpoint]:
    """A route on an answer's one verdict (404 for an unknown answer), in ``scope``."""
    return method(
        "/{answer_id}/feedback",
        response_model=Feedback,
        dependencies=[scope],
        responses=NOT_FOUND,
        summary=summary,
    )


def _add(ctx: ApiContext, answer_id: int, correct: bool) -> Feedback:
    try:
        return add_feedback(ctx.data.store, answer_id, correct)
    except ConfigError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"answer {answer_id} not found"
        ) from None


@_feedback_route(router.post, write_access, "Say whether an answer was right")
async def post_feedback(
    answer_id: AnswerId, body: FeedbackIn, ctx: ApiContext = Depends(context)
) -> Feedback:
    """Stores the verdict; that question's decisions on that camera follow it."""
    return await run_in_threadpool(_add, ctx, answer_id, body.correct)


def _get(ctx: ApiContext, answer_id: int) -> Feedback:
    found = feedback_on(ctx.data.store, answer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"answer {answer_id} has no feedback")
    return found


@_feedback_route(router.get, read_access, "The verdict given on an answer")
async def get_feedback(answer_id: AnswerId, ctx: ApiContext = Depends(context)) -> Feedback:
    return await run_in_threadpool(_get, ctx, answer_id)
