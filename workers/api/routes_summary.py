"""``/api/answers/summary`` and ``/api/answers/runs``: answers over time, from the rollups.

How long, how often, when: matched seconds, windows and runs per bucket (1m, 5m, 1h,
1d on a time zone's wall clock), and the runs themselves with the incidents that
overlap them. Both read ``answer_minutes`` and ``answer_runs`` only, never the answer
rows. Ranges: epoch seconds, ISO-8601, or a duration back from the newest stored
window (``24h``), so a file run (clock from 0) is asked like a live camera.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.span import TIME_HELP, TIME_PATTERN, timezones
from connectors.store.rollups.summary import MAX_BUCKETS, RUN_CURSOR, run_page, summarize
from connectors.store.rollups.wire import RunPage, Summary
from pipeline.errors import ConfigError
from workers.api.auth import read_access
from workers.api.context import ApiContext, context

router = APIRouter(prefix="/api/answers", tags=["answers over time"], dependencies=[read_access])
RUNS_MAX = 500


def _time_param(description: str, examples: dict[str, Any]) -> Any:
    return Query(
        pattern=TIME_PATTERN, max_length=40, description=f"{description}: {TIME_HELP}.",
        openapi_examples={k: {"summary": s, "value": v} for k, (s, v) in examples.items()},
    )


def _publish_zones(schema: dict[str, Any]) -> None:
    schema["enum"] = list(timezones())


QueryId = Annotated[
    str | None, Query(min_length=1, max_length=200, description="The question's query id.")
]
Camera = Annotated[str | None, Query(min_length=1, max_length=200, description="The camera id.")]
Since = Annotated[str | None, _time_param("Start of the range (default: 24h)", {
    "day": ("The last 24 hours of stored answers", "24h"),
    "iso": ("From a wall-clock time (in tz unless it has an offset)", "2026-12-01T08:00"),
    "epoch": ("From epoch seconds", "1764576000"),
})]
Until = Annotated[str | None, _time_param("End of the range (default: the newest window)", {
    "newest": ("Up to an hour before the newest window", "1h"),
    "iso": ("Up to a UTC time", "2026-12-02T00:00:00Z"),
})]
Bucket = Annotated[Literal["1m", "5m", "1h", "1d"], Query(description="Bucket size.")]
Tz = Annotated[
    str,
    Query(
        max_length=64, json_schema_extra=_publish_zones,
        description="IANA time zone the buckets follow (day buckets run midnight to midnight).",
        openapi_examples={"utc": {"value": "UTC"}, "berlin": {"value": "Europe/Berlin"}},
    ),
]


def _refused(exc: ConfigError) -> HTTPException:
    loc = ["query", exc.field]
    detail = [{"loc": loc, "msg": str(exc), "type": "value_error"}]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


@router.get(
    "/summary",
    response_model=Summary,
    summary="Matched time, windows and runs per bucket",
    responses={422: {"description": "A parameter outside what is allowed (named in loc)"}},
)
async def answers_summary(
    query_id: QueryId = None,
    camera: Camera = None,
    since: Since = None,
    until: Until = None,
    bucket: Bucket = "1h",
    tz: Tz = "UTC",
    ctx: ApiContext = Depends(context),
) -> Summary:
    """One row per bucket from the minute rollups: ``matched_s`` (seconds covered by
    yes windows, each counting its last step), ``windows`` answered, ``runs`` started,
    ``max_score``. Without ``query_id``/``camera`` all questions/cameras are added up.
    At most 1500 buckets per response; ``next_since`` continues a longer range."""
    reads = RollupReads(ctx.data.store.engine)
    try:
        return await run_in_threadpool(
            summarize, reads, query_id=query_id, camera=camera, since=since, until=until,
            bucket=bucket, tz=tz, cap=MAX_BUCKETS,
        )
    except ConfigError as exc:
        raise _refused(exc) from None


@router.get(
    "/runs",
    response_model=RunPage,
    summary="Runs: maximal stretches of yes answers",
    responses={422: {"description": "A parameter outside what is allowed (named in loc)"}},
)
async def answers_runs(
    query_id: QueryId = None,
    camera: Camera = None,
    since: Annotated[str | None, _time_param("Runs ending after (default: all)", {
        "week": ("Runs of the last 7 days of stored answers", "7d"),
    })] = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=RUNS_MAX, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(pattern=RUN_CURSOR, description="``next_cursor`` of the last page.")
    ] = None,
    ctx: ApiContext = Depends(context),
) -> RunPage:
    """Runs overlapping the range, newest start first, each with its duration, matched
    seconds, peak score, the incidents (of any rule) that overlap it and its first
    answer (whose evidence shows how it began). A run ends at a no, at a new query
    version, or after more than two steps without an answer."""
    reads = RollupReads(ctx.data.store.engine)
    try:
        return await run_in_threadpool(
            run_page, reads, query_id=query_id, camera=camera, since=since, until=until,
            limit=limit, cursor=cursor,
        )
    except ConfigError as exc:
        raise _refused(exc) from None
