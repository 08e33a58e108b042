"""The clip worker: cuts each incident's clips from a recording of its camera.

It polls the store for incidents without their clips (:meth:`ClipStore.due`), the
same way in both modes; only the recording differs — the embedded run's
:class:`~connectors.video.ring.SegmentRing`, or in Kafka mode the ``segments`` topic
read back through the segment index (:mod:`workers.incident_clips.kafka`). A clip is cut once
the recording reaches the end of its post-roll, or ``wait_s`` after the incident
changed (a camera that went quiet), or when the run ends. A clip whose segments are
gone is recorded ``expired``; one that cannot be cut ``failed``, with the reason; a
bad incident never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from connectors.store.clip_followup import SETTLED, ClipFollowUp
from connectors.store.clips import ClipFiles, ClipStore, ClipTask
from connectors.video.base import ClipError
from connectors.video.clip_cut import Clip, cut_clip
from connectors.video.clip_plan import ClipWindow
from pipeline.errors import FeedwatchError, StoreError
from pipeline.types import Segment

log = logging.getLogger("feedwatch.clips")


class Recording(Protocol):
    """Where the clip worker finds a camera's segments by stream time."""

    def covering(self, camera: str, start: float, end: float) -> list[Segment]: ...

    def reached(self, camera: str, t: float) -> bool:
        """Segments up to stream time ``t`` are there, or never will be."""
        ...

    def hold(self, key: str, camera: str, start: float, end: float) -> None: ...

    def release(self, key: str) -> None: ...


@dataclass(frozen=True)
class ClipPolicy:
    pre_roll: float = 5.0
    post_roll: float = 5.0
    max_seconds: float = 60.0
    wait_s: float = 30.0

    def window(self, task: ClipTask) -> ClipWindow:
        return ClipWindow(task.started_at, max(task.until, task.started_at), self.pre_roll,
                          self.post_roll, self.max_seconds)


@dataclass(eq=False)
class ClipWorker:
    """One pass cuts every due clip whose post-roll is recorded (see module doc)."""

    store: ClipStore
    files: ClipFiles
    recording: Recording
    policy: ClipPolicy = field(default_factory=ClipPolicy)
    clock: Callable[[], float] = time.time
    on_saved: Callable[[ClipTask, str], None] = lambda task, state: None
    followup: ClipFollowUp | None = None  # queues clip_ready (default: on the clip store)

    def __post_init__(self) -> None:
        if self.followup is None:
            self.followup = ClipFollowUp(self.store.engine)

    def run_once(self, *, final: bool = False) -> int:
        """Cut what is due; ``final``: do not wait for segments that may still come."""
        done = 0
        for task in self.store.due():
            try:
                done += self._one(task, final)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - one incident never stops the others
                log.exception("clip of incident %s (%s) failed", task.incident_id, task.phase)
                self._save(task, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
                done += 1
        return done

    def _one(self, task: ClipTask, final: bool) -> int:
        if task.phase == "open" and self.store.closed(task.incident_id):
            self._save(task, "skipped", error="closed before its opening clip was cut")
            return 1
        window = self.policy.window(task)
        waited = self.clock() - task.updated_at >= self.policy.wait_s
        if not (final or waited or self.recording.reached(task.camera, window.hi)):
            return 0
        segments = self.recording.covering(task.camera, window.lo, window.hi)
        if not segments:
            self._save(task, "expired", error="no segment of this time is kept any more")
            return 1
        try:
            clip, cpu = self._cut(segments, window)
        except ClipError as exc:
            self._save(task, "expired", error=str(exc))
            return 1
        if clip.start + clip.duration <= window.start:
            self._save(task, "expired", error="the recording ends before the event begins")
            return 1
        name = self.files.name(task.incident_id, task.phase)
        self.files.write(name, clip.data)
        self._save(task, "ready", file=name, bytes=len(clip.data), start=clip.start,
                   duration=clip.duration, event_at=clip.event_at, frames=clip.frames,
                   codec=clip.codec, source_bytes=clip.source_bytes, cpu_s=cpu,
                   skipped_from=clip.skipped[0] if clip.skipped else None,
                   skipped_to=clip.skipped[1] if clip.skipped else None)
        self._hold(task, window)
        return 1

    @staticmethod
    def _cut(segments: list[Segment], window: ClipWindow) -> tuple[Clip, float]:
        """The clip and the CPU seconds this thread spent cutting it."""
        cpu = time.thread_time()
        clip = cut_clip(segments, window)
        return clip, time.thread_time() - cpu

    def _hold(self, task: ClipTask, window: ClipWindow) -> None:
        """An open incident's beginning stays recorded for its closing clip."""
        if task.phase == "open":
            head = window.lo + self.policy.max_seconds / 2 + self.policy.pre_roll
            self.recording.hold(task.incident_id, task.camera, window.lo, head)
        else:
            self.recording.release(task.incident_id)

    def _save(self, task: ClipTask, state: str, **values: object) -> None:
        self.store.save(task, state, **values)
        log.info("clip %s of incident %s: %s", task.phase, task.incident_id, state)
        if state in SETTLED and self.followup is not None:
            self._follow_up(task)
        self.on_saved(task, state)

    def _follow_up(self, task: ClipTask) -> None:
        """``clip_ready`` for hooks told ``pending``; a failure loses only that notice."""
        assert self.followup is not None
        try:
            queued = self.followup.clip_settled(task.incident_id)
        except StoreError:
            log.exception("clip_ready of incident %s not queued", task.incident_id)
            return
        if queued:
            log.info("clip_ready of incident %s queued for %d hooks", task.incident_id, queued)


class ClipService:
    """Runs a :class:`ClipWorker` in a background thread until stopped."""

    def __init__(self, worker: ClipWorker, poll_s: float = 0.5) -> None:
        self.worker, self.poll_s = worker, poll_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> ClipService:
        self._thread = threading.Thread(target=self._loop, name="feedwatch-clips", daemon=True)
        self._thread.start()
        return self

    def run_once(self, *, final: bool = False) -> int:
        with self._lock:
            return self.worker.run_once(final=final)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except (FeedwatchError, OSError) as exc:
                log.warning("clips: %s; retrying", str(exc).splitlines()[0][:300])
                busy = 0
            if not busy:
                self._stop.wait(self.poll_s)

    def finish(self) -> int:
        """Stop the loop and cut what is still due without waiting; returns how many."""
        self.stop()
        try:
            return self.run_once(final=True)
        except (FeedwatchError, OSError) as exc:
            log.warning("clips: final pass failed: %s", exc)
            return 0

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
