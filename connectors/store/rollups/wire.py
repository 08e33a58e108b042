"""The wire shapes of answers over time: one pydantic schema each, shared by the API
(``/api/answers/summary``, ``/api/answers/runs``), ``feedwatch report --json`` and the
docs. Times are epoch seconds on the stream clock (UTC for live cameras)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.store.rollups.reads import Bucket, RunInfo
from connectors.store.rollups.span import Grid


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SummaryBucket(Wire):
    """One bucket: what the question answered in ``[start, end)``."""

    start: float = Field(description="Bucket start, epoch s.")
    end: float = Field(description="Bucket end (exclusive), epoch s.")
    local: str = Field(description="Bucket start on the wall clock of tz, ISO-8601.")
    matched_s: float = Field(description="Seconds matched: the union of yes windows' steps.")
    windows: int = Field(description="Windows answered (counted where their step starts).")
    yes_windows: int = Field(description="Of those, answered yes.")
    runs: int = Field(description="Runs that started in the bucket.")
    max_score: float | None = Field(description="Highest answer score.")
    mean_score: float | None = Field(description="Mean answer score.")
    backfilled: int = Field(description="Windows answered later over stored history.")

    @classmethod
    def of(cls, b: Bucket, grid: Grid) -> SummaryBucket:
        return cls(
            start=b.start, end=b.end, local=grid.label(b.start), matched_s=round(b.matched_s, 6),
            windows=b.windows, yes_windows=b.yes_windows, runs=b.runs, max_score=b.max_score,
            mean_score=b.mean_score, backfilled=b.backfilled,
        )


class Summary(Wire):
    """Buckets of one question (or all) on one camera (or all), from the rollups."""

    query_id: str | None = Field(description="The question; null: all questions added up.")
    camera: str | None = Field(description="The camera; null: all cameras added up.")
    bucket: str = Field(description="Bucket size: 1m, 5m, 1h or 1d.")
    tz: str = Field(description="Time zone the buckets are aligned to.")
    since: float | None = Field(description="Start of the first bucket (null: nothing stored).")
    until: float | None = Field(description="End of the last bucket.")
    newest: float | None = Field(description="Newest stored window end of the selection.")
    matched_s: float = Field(description="Seconds matched over all buckets.")
    windows: int
    runs: int = Field(description="Runs started over all buckets.")
    buckets: list[SummaryBucket]
    next_since: float | None = Field(
        description="Set when the bucket cap cut the range: ask again with since = this."
    )


class Run(Wire):
    """A run: a maximal sequence of yes windows of one question version on one camera."""

    id: int
    query_id: str
    camera: str
    query_version: int = Field(description="The query's version (0: not recorded).")
    start: float = Field(description="Start of the first yes window's step, epoch s.")
    end: float = Field(description="End of the last yes window, epoch s.")
    duration_s: float
    matched_s: float = Field(description="Seconds matched inside the run (short gaps excluded).")
    windows: int = Field(description="Yes windows in the run.")
    peak_score: float | None
    backfilled: int = Field(description="Windows of the run answered later over history.")
    open: bool = Field(description="The run holds the newest stored answer (it may go on).")
    incident_ids: list[str] = Field(description="Incidents (of any rule) that overlap the run.")
    first_answer_id: int | None = Field(
        description="The run's first answer (its evidence: /api/answers/{id}); null if pruned."
    )

    @classmethod
    def of(cls, r: RunInfo) -> Run:
        return cls(
            id=r.id, query_id=r.query_id, camera=r.camera, query_version=r.query_version,
            start=r.start, end=r.end, duration_s=round(r.duration_s, 6),
            matched_s=round(r.matched_s, 6), windows=r.windows, peak_score=r.peak_score,
            backfilled=r.backfilled, open=r.open, incident_ids=list(r.incident_ids),
            first_answer_id=r.first_answer_id,
        )


class RunPage(Wire):
    items: list[Run]
    next_cursor: str | None = Field(description="Pass as cursor for older runs.")


class SeriesReport(Wire):
    """One question on one camera over the report's period."""

    query_id: str
    question: str
    camera: str
    matched_s: float
    windows: int
    runs: int
    buckets: list[SummaryBucket]


class Report(Wire):
    """``feedwatch report --json``: matched time per question and camera."""

    since: float | None
    until: float | None
    bucket: str
    tz: str
    series: list[SeriesReport]
    next_since: float | None = None  # set when the bucket cap cut the range short there
