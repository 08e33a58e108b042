"""Backfill: answer a standing query over stored history, then it goes on live.

For each camera the query watches (``*``: every camera in the frame index), the
frames of the last ``duration`` seconds of that camera's stream (plus one window
before, so the first window is full) are read back from the index a page at a time —
embedding, pooled patch grid, thumbnail; no video is decoded — and evaluated window by
window with the same engine, selection and answerer the live path uses
(:func:`pipeline.history.backfill.backfill_pages`). Memory is bounded by one page plus
one window of frames and ``flush_windows`` windows of answers, whatever the range.
Answers are stored marked ``backfilled`` as they are made; windows the store already
answered for this query are kept as they are, so a run that is stopped and started
again repeats nothing a client sees.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from pipeline.engine import Engine
from pipeline.history.backfill import backfill_pages, count_windows, window_span
from pipeline.history.records import to_encoded
from pipeline.perceiver import AnswererCache
from pipeline.types import Answer, StandingQuery
from workers.config import PerceptionSettings
from workers.history.search import index_model

log = logging.getLogger(__name__)
PAGE_FRAMES = 256
FLUSH_WINDOWS = 64
REPORT_S = 1.0


@dataclass(frozen=True)
class CameraPlan:
    """One camera's part of a backfill: frames read from ``read_from`` to ``last``."""

    camera: str
    read_from: float
    last: float
    windows: int


@dataclass
class BackfillResult:
    """What a backfill did: windows answered per camera, new answers stored."""

    windows: dict[str, int] = field(default_factory=dict)
    stored: int = 0
    total: int = 0
    since: float | None = None
    until: float | None = None
    stopped: bool = False  # the report callback asked it to stop

    @property
    def done(self) -> int:
        return sum(self.windows.values())

    def summary(self) -> dict[str, Any]:
        return {"windows": dict(self.windows), "stored": self.stored}


Report = Callable[[BackfillResult], bool]
"""Called with the progress so far (after answers are stored); False stops the run."""


@dataclass(eq=False)
class Backfiller:
    """Evaluates queries over the frame index with a live-equivalent engine."""

    store: Store
    index: FrameIndex
    engine: Engine
    model_id: str
    page_frames: int = PAGE_FRAMES
    flush_windows: int = FLUSH_WINDOWS
    report_s: float = REPORT_S

    @classmethod
    def load(
        cls, store: Store, perception: PerceptionSettings, clip: str | None = None, **kw: Any
    ) -> Backfiller:
        """Model and selection from the perception settings; the model must be the index's."""
        index = FrameIndex(store.engine)
        model = index_model(index, clip)  # before torch loads: an empty index needs no model
        from pipeline.models.clip_encoder import ClipEncoder

        encoder = ClipEncoder.from_spec(model, device=perception.device)
        engine = Engine(
            encoder,
            AnswererCache(encoder, getattr(perception, "vlm", "")),
            perception.selection(),
        )
        return cls(store, index, engine, model, **kw)

    def fresh(self) -> Backfiller:
        """The same model with answerers built anew: a job's running baselines start empty,
        as they would for the query live."""
        encoder = self.engine.texts.encoder
        vlm = getattr(self.engine.answerer_for, "vlm_spec", "")
        engine = Engine(encoder, AnswererCache(encoder, vlm), self.engine.config)
        return dataclasses.replace(self, engine=engine)

    def plan(self, query: StandingQuery, duration: float) -> list[CameraPlan]:
        """Per camera with stored frames: what to read and how many windows it answers."""
        cameras = self.index.cameras() if "*" in query.cameras else list(query.cameras)
        plans = []
        for camera in cameras:
            span = self.index.span(camera)
            if span is not None:
                first, last = span
                since = max(first, last - duration - query.window)
                plans.append(CameraPlan(camera, since, last,
                                        count_windows(query, last - duration, last)))
        return plans

    def run(self, query: StandingQuery, duration: float, report: Report | None = None,
            plans: list[CameraPlan] | None = None) -> BackfillResult:
        plans = self.plan(query, duration) if plans is None else plans
        result = BackfillResult(total=sum(p.windows for p in plans))
        ends = [e for p in plans for e in _first_last(query, p, duration)]
        result.since, result.until = (min(ends), max(ends)) if ends else (None, None)
        ticker = _Ticker(report, result, self.report_s)
        if not ticker.tick(force=True):
            return result
        for plan in plans:
            result.windows[plan.camera] = 0
            if not self._camera(query, plan, duration, result, ticker):
                break
        ticker.tick(force=True)
        return result

    def _camera(self, query: StandingQuery, plan: CameraPlan, duration: float,
                result: BackfillResult, ticker: _Ticker) -> bool:
        pages = ([to_encoded(r) for r in page] for page in self.index.pages(
            plan.camera, plan.read_from, plan.last, size=self.page_frames, model_id=self.model_id))
        pending: list[Answer] = []
        for n, answers in enumerate(
                backfill_pages(self.engine, query, plan.camera, pages, plan.last, duration), 1):
            pending.extend(answers)
            result.windows[plan.camera] += 1
            if n % self.flush_windows == 0 or ticker.due():
                result.stored += self.store.insert_answers(pending)
                pending.clear()
                if not ticker.tick():
                    return False
        result.stored += self.store.insert_answers(pending)
        return True


def _first_last(query: StandingQuery, plan: CameraPlan, duration: float) -> tuple[float, ...]:
    return window_span(query, plan.last - duration, plan.last) or ()


class _Ticker:
    """Calls the report at most every ``every_s`` (or when forced); remembers a stop."""

    def __init__(self, report: Report | None, result: BackfillResult, every_s: float) -> None:
        self.report, self.result, self.every_s = report, result, every_s
        self.last = time.monotonic()

    def due(self) -> bool:
        return self.report is not None and time.monotonic() - self.last >= self.every_s

    def tick(self, force: bool = False) -> bool:
        if self.report is None or self.result.stopped:
            return not self.result.stopped
        if force or self.due():
            self.last = time.monotonic()
            self.result.stopped = not self.report(self.result)
        return not self.result.stopped
