"""Backfill jobs in the store (SQLite): claims, progress as heartbeat, cancel, recovery of
interrupted jobs, pruning; the frame index read in pages; the table as migrated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from connectors.store import Store
from connectors.store.backfills.jobs import INTERRUPTED, BackfillJobs
from connectors.store.backfills.schema import BackfillRow, BackfillState
from connectors.store.frames.index import FrameIndex
from pipeline.history.records import IndexedFrame, encode_jpeg
from pipeline.types import StandingQuery

QUERY = StandingQuery("q1", "a red circle", ("dock", "gate"), every=2.0, window=4.0, version=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield s
    s.close()


def test_a_job_is_claimed_once_reports_progress_and_finishes(store: Store) -> None:
    jobs = BackfillJobs(store.engine)
    job = jobs.create(QUERY, 600.0)
    assert (job.state, job.version, job.cameras, job.seconds) == ("queued", 3, ("dock", "gate"),
                                                                  600.0)
    claimed = jobs.claim("a")
    assert claimed is not None and claimed.state == "running" and claimed.attempts == 1
    assert jobs.claim("b") is None  # nobody else gets it
    assert jobs.progress(job.id, "a", windows_done=10, windows_total=300, answers=9)
    assert not jobs.progress(job.id, "b", windows_done=11)  # not b's job
    assert jobs.finish(job.id, "a", BackfillState.done, windows_done=300)
    done = jobs.get(job.id)
    assert done is not None and (done.state, done.windows_done, done.answers) == ("done", 300, 9)
    assert not jobs.cancel(job.id)  # finished stays finished
    assert jobs.get(job.id).state == "done"  # type: ignore[union-attr]
    assert jobs.get("nope") is None


def test_a_cancel_stops_the_runner_at_its_next_report(store: Store) -> None:
    jobs = BackfillJobs(store.engine)
    job = jobs.create(QUERY, 60.0)
    jobs.claim("a")
    assert jobs.cancel(job.id, "cancelled by a client")
    assert not jobs.progress(job.id, "a", windows_done=5)  # the runner is told to stop
    assert not jobs.finish(job.id, "a", BackfillState.done)  # and cannot overwrite it
    cancelled = jobs.get(job.id)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert cancelled.error == "cancelled by a client" and cancelled.finished_at is not None
    other = jobs.create(QUERY, 60.0)
    assert jobs.cancel_query(QUERY.id, "the query was deleted") == 1
    assert jobs.get(other.id).state == "cancelled"  # type: ignore[union-attr]


def test_interrupted_jobs_are_resumed_then_failed_after_their_attempts(store: Store) -> None:
    clock = Clock()
    jobs = BackfillJobs(store.engine, clock=clock)
    job = jobs.create(QUERY, 60.0)
    for attempt in (1, 2):
        assert jobs.claim(f"p{attempt}") is not None
        clock.now += 30
        assert jobs.recover(stale_s=60, max_attempts=2) == (0, 0)  # still reporting
        clock.now += 61
        requeued, failed = jobs.recover(stale_s=60, max_attempts=2)
        assert (requeued, failed) == ((1, 0) if attempt == 1 else (0, 1))
    final = jobs.get(job.id)
    assert final is not None and final.state == "failed" and final.error == INTERRUPTED
    assert final.attempts == 2


def test_a_stopping_process_gives_its_job_back(store: Store) -> None:
    jobs = BackfillJobs(store.engine)
    job = jobs.create(QUERY, 60.0)
    jobs.claim("a")
    assert jobs.release(job.id, "a")
    again = jobs.claim("b")
    assert again is not None and again.id == job.id and again.attempts == 2


def test_a_job_run_where_it_is_created_is_not_claimed(store: Store) -> None:
    jobs = BackfillJobs(store.engine)
    job = jobs.create(QUERY, 60.0, owner="cli")
    assert job.state == "running" and jobs.claim("api") is None and jobs.active() == 1


def test_finished_jobs_past_the_newest_keep_are_deleted(store: Store) -> None:
    clock = Clock()
    jobs = BackfillJobs(store.engine, keep=3, clock=clock)
    for _ in range(6):
        clock.now += 1
        job = jobs.create(QUERY, 60.0)
        jobs.cancel(job.id)
    clock.now += 1
    active = jobs.create(QUERY, 60.0)
    listed = jobs.list(QUERY.id)
    assert len(listed) == 4 and listed[0].id == active.id  # newest first, active kept
    assert [j.state for j in listed[1:]] == ["cancelled"] * 3
    assert jobs.list("other") == []


def test_the_frame_index_is_read_in_pages_of_at_most_size(store: Store) -> None:
    index = FrameIndex(store.engine)
    jpeg = encode_jpeg(np.full((8, 8, 3), 90, np.uint8))
    emb = np.eye(4, dtype=np.float32)[0]
    index.write([IndexedFrame("dock", t / 2, "tiny", emb, jpeg) for t in range(25)])
    index.write([IndexedFrame("dock", t / 2, "other", emb, jpeg) for t in range(25)])
    pages = list(index.pages("dock", 1.0, 11.0, size=7, model_id="tiny"))
    assert [len(p) for p in pages] == [7, 7, 7]
    times = [f.t for p in pages for f in p]
    assert times == [t / 2 for t in range(2, 23)] and {f.model_id for p in pages for f in p} == {
        "tiny"}
    assert [f.t for p in index.pages("dock", 0.0, 1e9, size=5, model_id="tiny") for f in p] == [
        t / 2 for t in range(25)]


def test_the_table_migrates_exactly_as_modelled(store: Store) -> None:
    assert "backfills" in sa.inspect(store.engine).get_table_names()
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}),
            BackfillRow.metadata,
        )
    assert [d for d in diff if "backfills" in repr(d)] == []
