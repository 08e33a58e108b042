"""Backfill: answer a standing query over stored history, then it goes on live.

For each camera the query watches (``*``: every camera in the frame index), the
frames of the last ``duration`` seconds of that camera's stream (plus one window
before, so the first window is full) are read back from the index — embedding,
pooled patch grid, thumbnail; no video is decoded — and evaluated window by window
with the same engine, selection and answerer the live path uses
(:func:`pipeline.history.backfill.backfill_camera`). Answers are stored marked
``backfilled``; windows the store already answered for this query are kept as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from pipeline.engine import Engine
from pipeline.history.backfill import backfill_camera
from pipeline.history.records import to_encoded
from pipeline.perceiver import AnswererCache
from pipeline.types import Answer, StandingQuery
from workers.config import PerceptionSettings
from workers.history.search import index_model

log = logging.getLogger(__name__)


@dataclass
class BackfillResult:
    """What a backfill did, per camera."""

    windows: dict[str, int] = field(default_factory=dict)
    stored: int = 0
    answers: list[Answer] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"windows": dict(self.windows), "stored": self.stored}


@dataclass(eq=False)
class Backfiller:
    """Evaluates queries over the frame index with a live-equivalent engine."""

    store: Store
    index: FrameIndex
    engine: Engine
    model_id: str

    @classmethod
    def load(
        cls, store: Store, perception: PerceptionSettings, clip: str | None = None
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
        return cls(store, index, engine, model)

    def run(self, query: StandingQuery, duration: float) -> BackfillResult:
        result = BackfillResult()
        cameras = self.index.cameras() if "*" in query.cameras else list(query.cameras)
        for camera in cameras:
            answers = self._camera(query, camera, duration)
            result.windows[camera] = len(answers)
            result.stored += self.store.insert_answers(answers) if answers else 0
            result.answers.extend(answers)
        return result

    def _camera(self, query: StandingQuery, camera: str, duration: float) -> list[Answer]:
        span = self.index.span(camera)
        if span is None:
            return []
        first, last = span
        since = max(first, last - duration - query.window)
        rows = self.index.frames(camera, since, last, model_id=self.model_id)
        frames = [to_encoded(r) for r in rows]
        return backfill_camera(self.engine, query, camera, frames, duration)
