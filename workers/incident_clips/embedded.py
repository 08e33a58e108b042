"""Incident clips for ``feedwatch run``: a segment ring beside the run and the clip worker.

The run hands every segment it perceived to :meth:`ClipRun.observe` (the ring keeps
the last ``FEEDWATCH_CLIPS_RING_S`` stream seconds per camera, and an open incident's
beginning until its closing clip is cut); the worker cuts clips as incidents open
and close. At the end of the run every stream has ended, so :meth:`ClipRun.finish`
cuts what is still due without waiting for post-rolls that will never come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.store import Store
from connectors.store.clips import ClipFiles, ClipStore
from connectors.video.ring import SegmentRing
from pipeline.types import Segment
from workers.config import ClipsSettings, Settings
from workers.incident_clips.service import ClipPolicy, ClipService, ClipWorker


def policy_of(s: ClipsSettings) -> ClipPolicy:
    return ClipPolicy(s.pre_roll_s, s.post_roll_s, s.max_s, s.wait_s)


@dataclass
class ClipRun:
    """What ``feedwatch run`` holds while clipping: its store handle, ring and service."""

    store: Store
    ring: SegmentRing
    service: ClipService
    cameras: set[str]

    def observe(self, segment: Segment) -> None:
        self.cameras.add(segment.camera)
        self.ring.add(segment)

    def cut_now(self) -> int:
        """Cut what is due, every stream taken as ended."""
        self.ring.ended.update(self.cameras)
        return self.service.run_once(final=True)

    def finish(self, say: Callable[[str], None]) -> int:
        """Stop, cut what is still due; returns how many clips were recorded."""
        self.ring.ended.update(self.cameras)
        try:
            n = self.service.finish()
            if n:
                say(f"clips: {n} more cut or recorded at the end of the run")
            return n
        finally:
            self.store.close()


def start_for_run(settings: Settings) -> ClipRun:
    """The ring and the clip worker for a run over ``settings.store.url``."""
    s = settings.clips
    store = Store.from_url(settings.store.url)
    ring = SegmentRing(s.ring_s, s.ring_mb << 20, s.ring_mb << 20)
    worker = ClipWorker(ClipStore(store.engine), ClipFiles.from_config(s.dir), ring, policy_of(s))
    return ClipRun(store, ring, ClipService(worker, s.poll_s).start(), set())
