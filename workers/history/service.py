"""History for the API: search and backfill over one store, the model loaded on first use.

The API process may never be asked to search; the CLIP model (the one the frame
index was built with) is loaded by the first search or backfill and then kept, shared
by both. Backfills run as jobs on this process's :class:`BackfillRunner`, each with
answerers of its own over the shared model.
"""

from __future__ import annotations

import threading
from typing import Any

from connectors.store import Store
from connectors.store.backfills.jobs import BackfillJobs
from connectors.store.frames.index import FrameIndex
from workers.config import ApiSettings, PerceptionSettings
from workers.history.backfill import Backfiller
from workers.history.jobs import BackfillRunner
from workers.history.search import Searcher, index_model


class HistoryService:
    """Search, thumbnails and backfill over ``store``'s frame index."""

    def __init__(
        self, store: Store, perception: PerceptionSettings, api: ApiSettings | None = None
    ) -> None:
        self.store = store
        self.perception = perception
        self.api = api or ApiSettings()
        self._index: FrameIndex | None = None
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._backfiller: Backfiller | None = None
        self.jobs = BackfillJobs(store.engine)
        self.runner = BackfillRunner(self.jobs, store, self.backfiller,
                                     stale_s=self.api.backfill_stale_s)

    @property
    def index(self) -> FrameIndex:
        """The store's frame index (opened on first use: the API starts without it)."""
        if self._index is None:
            self._index = FrameIndex(self.store.engine)
        return self._index

    def searcher(self) -> Searcher:
        """The searcher for the index's current model (loaded on first use, then kept)."""
        with self._lock:
            model = index_model(self.index, None)
            if self._searcher is None or self._searcher.model_id != model:
                encoder = self._encoder(model)
                self._searcher = Searcher(self.index, encoder, model)
            return self._searcher

    def thumbnail(self, frame_id: int) -> bytes | None:
        return self.index.thumbnail(frame_id)

    def backfiller(self) -> Backfiller:
        """A backfiller for one job over the index's model (ConfigError: no frames yet)."""
        with self._lock:
            model = index_model(self.index, None)
            if self._backfiller is None or self._backfiller.model_id != model:
                self._backfiller = Backfiller.load(
                    self.store, self.perception, page_frames=self.api.backfill_page_frames)
            return self._backfiller.fresh()

    def _encoder(self, model: str) -> Any:
        if self._backfiller is not None and self._backfiller.model_id == model:
            return self._backfiller.engine.texts.encoder
        from pipeline.models.clip_encoder import ClipEncoder

        return ClipEncoder.from_spec(model, device=self.perception.device)
