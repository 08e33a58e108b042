"""Backfill jobs run in the background of the process that serves the API.

``submit`` stores a queued job (``connectors.store.backfills``) and wakes this
process's runner: one thread that claims queued jobs from the store, oldest first, and
runs each with a fresh engine over the shared CLIP model, reporting progress to the
store at least every second (the report is also the job's heartbeat, and the moment a
``DELETE`` is seen: a refused report stops the run).

Durability: the job is a row, so any API process reads its progress. A process that
stops gracefully gives its running job back to the queue; one that dies leaves it
``running`` with a heartbeat that goes stale, and any runner (every ``poll_s``) puts a
job silent for ``stale_s`` back in the queue. A queued job is resumed by whichever
runner claims it: it starts again from its first window (the answerer's running
baseline must be rebuilt in time order), and the answers already stored are kept, so
only the work is repeated. After ``max_attempts`` interrupted runs it is failed.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable

from connectors.store import Store
from connectors.store.backfills.jobs import BackfillJobs
from connectors.store.backfills.schema import BackfillJob, BackfillState
from connectors.store.reads import Reads
from pipeline.errors import ConfigError, FeedwatchError
from pipeline.types import StandingQuery
from workers.history.backfill import Backfiller, BackfillResult

log = logging.getLogger(__name__)
ERROR_CHARS = 500


class BackfillRunner:
    """Claims and runs the store's queued backfill jobs on one thread of this process."""

    def __init__(
        self,
        jobs: BackfillJobs,
        store: Store,
        backfiller: Callable[[], Backfiller],
        *,
        stale_s: float = 120.0,
        max_attempts: int = 3,
        poll_s: float = 5.0,
    ) -> None:
        self.jobs = jobs
        self.reads = Reads(store)
        self.backfiller = backfiller
        self.stale_s, self.max_attempts, self.poll_s = stale_s, max_attempts, poll_s
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._persistent = False
        self.watch: Callable[[BackfillResult], None] | None = None  # progress, as reported

    # -- lifecycle ------------------------------------------------------------------
    def submit(self, query: StandingQuery, seconds: float) -> BackfillJob:
        """Store a queued job for ``query`` and have this process's runner take it."""
        job = self.jobs.create(query, seconds)
        self.wake()
        return job

    def run_here(self, query: StandingQuery, seconds: float) -> BackfillJob | None:
        """Store a job for ``query`` and run it on the calling thread (the CLI's way)."""
        return self.run(self.jobs.create(query, seconds, owner=self.owner))

    def wake(self) -> None:
        with self._lock:
            self._wake.set()
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._loop, name="backfills", daemon=True)
                self._thread.start()

    def start(self) -> None:
        """Run until :meth:`stop`, also recovering other processes' interrupted jobs."""
        self._persistent = True
        self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current window; a running job goes back to the queue."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.jobs.recover(self.stale_s, self.max_attempts)
                job = self.jobs.claim(self.owner)
                if job is not None:
                    self.run(job)
                    continue
            except FeedwatchError as exc:  # the store is down: try again after a poll
                log.warning("backfill jobs: %s", exc)
                self._stopping.wait(self.poll_s)
                continue
            with self._lock:
                if not self._persistent and not self._wake.is_set():
                    self._thread = None
                    return
                self._wake.clear()
            self._wake.wait(self.poll_s)
        with self._lock:
            self._thread = None

    # -- one job ----------------------------------------------------------------------
    def run(self, job: BackfillJob) -> BackfillJob | None:
        """Run a job this owner holds to its end; the job as stored afterwards."""
        try:
            self._run(job)
        except Exception as exc:  # noqa: BLE001 - one job's failure is its own, not the runner's
            log.warning("backfill %s failed: %s", job.id, exc, exc_info=True)
            self._finish(job, BackfillState.failed, _reason(exc))
        return self.jobs.get(job.id)

    def _run(self, job: BackfillJob) -> None:
        stored = self.reads.query(job.query_id)
        if stored is None:
            self._finish(job, BackfillState.cancelled, "the query was deleted")
            return
        query = stored.query
        try:
            backfiller = self.backfiller()
        except ConfigError:  # no frames indexed yet: nothing to answer
            self._finish(job, BackfillState.done, None, version=query.version)
            return
        result = backfiller.run(query, job.seconds, lambda r: self._report(job, query, r))
        if not result.stopped:
            self._finish(job, BackfillState.done, None, **_progress(query, result))
        elif self._stopping.is_set():
            self.jobs.release(job.id, self.owner)

    def _report(self, job: BackfillJob, query: StandingQuery, result: BackfillResult) -> bool:
        if self._stopping.is_set():
            return False
        if self.watch is not None:
            self.watch(result)
        return self.jobs.progress(job.id, self.owner, **_progress(query, result))

    def _finish(self, job: BackfillJob, state: BackfillState, error: str | None,
                **values: object) -> None:
        if not self.jobs.finish(job.id, self.owner, state, error, **values):
            log.info("backfill %s was no longer ours to finish (cancelled?)", job.id)


def _progress(query: StandingQuery, result: BackfillResult) -> dict[str, object]:
    return {"windows_done": result.done, "windows_total": result.total,
            "answers": result.stored, "since": result.since, "until": result.until,
            "version": query.version}


def _reason(exc: Exception) -> str:
    """What the client is told: the error's own message (our errors name the field and
    what is allowed, store errors carry no SQL), one line, bounded."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:ERROR_CHARS]
