"""The wire shape of a backfill job: one pydantic schema for the API
(``/api/backfills``), ``feedwatch backfills --json`` and the docs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connectors.store.backfills.schema import BackfillJob, BackfillState


class BackfillOut(BaseModel):
    """A backfill job: a query answered over stored history, in the background."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Job id.")
    url: str = Field(description="Where its progress is read (GET) and it is cancelled (DELETE).")
    query_id: str = Field(description="The query it answers.")
    version: int = Field(description="The query version it answers (the one stored when it ran).")
    cameras: list[str] = Field(description='The query\'s cameras (["*"]: every indexed camera).')
    seconds: float = Field(description="Seconds of stored history asked for, per camera.")
    since: float | None = Field(description="Stream time of the first window end, once counted.")
    until: float | None = Field(description="Stream time of the last window end, once counted.")
    state: BackfillState = Field(
        description="queued → running → done | failed | cancelled; a running job whose "
        "process stopped is queued again (resumed) until its attempts are spent."
    )
    windows_done: int = Field(description="Windows answered so far (this attempt).")
    windows_total: int = Field(description="Windows to answer (0 until counted).")
    answers: int = Field(description="New answers stored (windows already answered are kept).")
    error: str | None = Field(description="Why it failed or was cancelled, if it did.")
    attempts: int = Field(description="Runs started (a resumed job counts each).")
    created_at: float = Field(description="Epoch s.")
    started_at: float | None = Field(description="Epoch s of the latest start.")
    finished_at: float | None = Field(description="Epoch s.")

    @classmethod
    def of(cls, job: BackfillJob) -> BackfillOut:
        return cls(
            id=job.id, url=f"/api/backfills/{job.id}", query_id=job.query_id,
            version=job.version, cameras=list(job.cameras), seconds=job.seconds,
            since=job.since, until=job.until, state=job.state, windows_done=job.windows_done,
            windows_total=job.windows_total, answers=job.answers, error=job.error,
            attempts=job.attempts, created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at,
        )
