"""Evaluate the due standing queries of one camera window.

Per frame, the CLIP image encoder runs once (:func:`encode_frames`); per question,
the text embedding is computed once and cached. For a :class:`Due` group the engine
makes ONE call to the selector (one matrix product of the window's global embeddings
against every due question), then hands each answerer ALL the due queries it answers
at once (:meth:`Answerer.answer_many`: the VLM answerer generates them as one padded
batch over visual tokens computed once per frame) and builds the :class:`Answer`
with frame times, RoI boxes, visual tokens, model ids, latency and evidence.
``latency_ms`` is wall time from the start of the group's evaluation until that
answer (and its evidence) was ready.

A query whose answerer cannot be built, or raises while answering, is set aside for
its version (:meth:`Engine.take_failures` hands each failure over once) while every
other query of the window is answered; a new version of the query is tried afresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np

from pipeline.answerers.base import Answerer, AnswerResult, ImageEncoder
from pipeline.evidence import THUMB_SIDE, frame_thumbnail, render
from pipeline.framememo import FrameMemo
from pipeline.perception import Selection, SelectionConfig, select_for_queries
from pipeline.scheduler import Due
from pipeline.types import (
    Answer,
    EncodedFrame,
    Evidence,
    FloatArray,
    Frame,
    RoI,
    StandingQuery,
)

log = logging.getLogger(__name__)

EVIDENCE_CACHE = 2048  # rendered (frame, box) JPEGs kept, oldest dropped first (~10 KB each)
ROI_CACHE = 8192  # (frame, question) RoIs kept (a few hundred bytes each)

Selector = Callable[[Sequence[EncodedFrame], Sequence[str], Any, SelectionConfig], list[Selection]]


class TextEncoder(Protocol):
    """The text side of the CLIP encoder."""

    model_id: str

    def encode_text(self, texts: Sequence[str]) -> FloatArray: ...


def encode_frames(
    encoder: ImageEncoder, frames: Sequence[Frame], thumb_side: int = THUMB_SIDE
) -> list[EncodedFrame]:
    """Encode decoded frames once: global + patch embeddings and a thumbnail each (the
    decoder's own when it has the size)."""
    if not frames:
        return []
    globals_, patches = encoder.encode_frames([f.rgb for f in frames])
    return [
        EncodedFrame(
            camera=f.camera,
            t=f.t,
            global_emb=np.asarray(globals_[i], dtype=np.float32),
            patches=np.asarray(patches[i], dtype=np.float32),
            thumb=frame_thumbnail(f, thumb_side),
            frame_size=(int(f.rgb.shape[0]), int(f.rgb.shape[1])),
        )
        for i, f in enumerate(frames)
    ]


class TextCache:
    """Question → text embedding, encoded in one batch for the misses."""

    def __init__(self, encoder: TextEncoder, max_size: int = 4096) -> None:
        self.encoder = encoder
        self.max_size = max_size
        self._embs: dict[str, FloatArray] = {}

    def __call__(self, questions: Sequence[str]) -> FloatArray:
        missing = list(dict.fromkeys(q for q in questions if q not in self._embs))
        if missing:
            if len(self._embs) + len(missing) > self.max_size:
                self._embs.clear()
            embs = np.asarray(self.encoder.encode_text(missing), dtype=np.float32)
            self._embs.update(zip(missing, embs, strict=True))
        return np.stack([self._embs[q] for q in questions]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class QueryFailure:
    """A query set aside: its answerer could not be built (``stage`` "build") or raised
    while answering (``stage`` "answer") on ``camera`` ("" when it arrived)."""

    query: StandingQuery
    stage: str
    camera: str
    error: BaseException


class Engine:
    """Turns a camera window plus its due queries into answers."""

    def __init__(
        self,
        encoder: TextEncoder,
        answerer_for: Callable[[str, dict[str, Any]], Answerer],
        config: SelectionConfig | None = None,
        *,
        selector: Selector | None = None,
        evidence: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.texts = TextCache(encoder)
        self.answerer_for = answerer_for
        self.config = config or SelectionConfig()
        # the default keeps each (frame, question)'s RoI while the frame is buffered
        self.selector = selector or partial(select_for_queries, rois=FrameMemo(ROI_CACHE))
        self.evidence = evidence
        self.clock = clock
        self._rendered: FrameMemo[Evidence] = FrameMemo(EVIDENCE_CACHE)
        self._failed: dict[str, int] = {}  # query id -> the version set aside
        self._failures: list[QueryFailure] = []

    def prepare(self, query: StandingQuery) -> None:
        """Build ``query``'s answerer now (it is cached) and let it prepare for the question,
        so a query that cannot be built fails when it arrives, and its first window does
        not wait for per-question work."""
        self._failed.pop(query.id, None)
        answerer = self._answerer(query, "")
        warm = getattr(answerer, "prepare", None)
        if callable(warm):  # per-question work (the clip tracker's alternatives) done now
            try:
                warm(query)
            except Exception as exc:  # noqa: BLE001 - one query's answerer never stops the others
                self._set_aside(query, "build", "", exc)

    def take_failures(self) -> list[QueryFailure]:
        """The queries set aside since the last call, each (query, version) once."""
        failures, self._failures = self._failures, []
        return failures

    def look_ahead(self, work: Sequence[tuple[Due, Sequence[EncodedFrame]]]) -> None:
        """Let answerers batch the model work of one step's windows before they are
        evaluated (closer looks: one encoder call); a failure is only logged."""
        items: dict[int, tuple[Answerer, list[tuple[Any, ...]]]] = {}
        try:
            for due, window in work:
                asked = [(q, a) for q in due.queries if self._failed.get(q.id) != q.version
                         for a in [self._answerer(q, due.camera)] if a is not None
                         and a.looks_ahead]
                if not window or not asked:
                    continue
                queries = [q for q, _ in asked]
                embs = self.texts([q.question for q in queries])
                selections = self.selector(window, [q.id for q in queries], embs, self.config)
                for (query, answerer), sel, emb in zip(asked, selections, embs, strict=True):
                    items.setdefault(id(answerer), (answerer, []))[1].append(
                        (query, window, sel, emb))
            for answerer, batch in items.values():
                answerer.look_ahead(batch)
        except Exception:  # noqa: BLE001 - the answers do their own work then
            log.warning("look-ahead of %d window(s) failed; answering without it", len(work),
                        exc_info=True)

    def evaluate(self, due: Due, window: Sequence[EncodedFrame]) -> list[Answer]:
        """One answer per due query that is not set aside; none when the window holds
        no frames."""
        queries = [q for q in due.queries if self._failed.get(q.id) != q.version]
        if not window or not queries:
            return []
        t0 = time.perf_counter()
        embs = self.texts([q.question for q in queries])
        selections = self.selector(window, [q.id for q in queries], embs, self.config)
        results = self._results(queries, window, selections, embs, due.camera)
        answers = []
        for i, (query, selection) in enumerate(zip(queries, selections, strict=True)):
            result = results.get(i)
            if result is None:
                continue
            evidence = self._evidence(window, selection)
            latency = (time.perf_counter() - t0) * 1000.0
            answers.append(self._answer(due, query, selection, result, evidence, latency))
        return answers

    def _results(
        self,
        queries: Sequence[StandingQuery],
        window: Sequence[EncodedFrame],
        selections: Sequence[Selection],
        embs: FloatArray,
        camera: str,
    ) -> dict[int, AnswerResult]:
        """Each answerer answers all of its due queries in one call; results by query
        index, none for a query set aside."""
        groups: dict[int, tuple[Answerer, list[int]]] = {}
        for i, query in enumerate(queries):
            answerer = self._answerer(query, camera)
            if answerer is not None:
                groups.setdefault(id(answerer), (answerer, []))[1].append(i)
        results: dict[int, AnswerResult] = {}
        for answerer, idx in groups.values():
            batch = _Batch(queries, window, selections, embs)
            results.update(self._answer_group(answerer, idx, batch, camera))
        return results

    def _answerer(self, query: StandingQuery, camera: str) -> Answerer | None:
        try:
            return self.answerer_for(query.answerer, query.settings)
        except Exception as exc:  # noqa: BLE001 - one query's answerer never stops the others
            self._set_aside(query, "build", camera, exc)
            return None

    def _answer_group(self, answerer: Answerer, idx: list[int], batch: _Batch, camera: str
                      ) -> dict[int, AnswerResult]:
        """The group's results; when the call fails, each query is answered alone so
        only the one that fails is set aside."""
        try:
            got = answerer.answer_many(*batch.of(idx))
            return dict(zip(idx, got, strict=True))
        except Exception as exc:  # noqa: BLE001 - isolate the query, keep the rest
            if len(idx) == 1:
                self._set_aside(batch.queries[idx[0]], "answer", camera, exc)
                return {}
        out: dict[int, AnswerResult] = {}
        for i in idx:
            out.update(self._answer_group(answerer, [i], batch, camera))
        return out

    def set_aside(self, query: StandingQuery, stage: str, camera: str, exc: Exception) -> None:
        """Set ``query`` aside for its version from outside the engine (its answer could
        not be carried); reported once by :meth:`take_failures`, as any other."""
        self._set_aside(query, stage, camera, exc)

    def _set_aside(self, query: StandingQuery, stage: str, camera: str, exc: Exception) -> None:
        if self._failed.get(query.id) != query.version:
            self._failed[query.id] = query.version
            self._failures.append(QueryFailure(query, stage, camera, exc))

    def _evidence(self, window: Sequence[EncodedFrame], sel: Selection) -> tuple[Evidence, ...]:
        if not self.evidence:
            return ()
        return tuple(
            self._render(window[i], roi) for i, roi in zip(sel.indices, sel.rois, strict=True)
        )

    def _render(self, frame: EncodedFrame, roi: RoI) -> Evidence:
        """The JPEG of (frame, box), made once: questions sharing a box, and the next
        windows over the same buffered frame, reuse it (:mod:`pipeline.framememo`)."""
        return self._rendered.get(frame, roi, lambda: render(frame, roi))

    def _answer(self, due: Due, query: StandingQuery, sel: Selection, result: AnswerResult,
                evidence: tuple[Evidence, ...], latency_ms: float) -> Answer:
        return Answer(
            query_id=query.id,
            question=query.question,
            camera=due.camera,
            window_start=due.start,
            window_end=due.end,
            evaluated_at=self.clock(),
            answerer=query.answerer,
            text=result.text,
            matched=result.matched,
            score=result.score,
            frames=tuple(float(t) for t in sel.times),
            rois=tuple(r.normalized() for r in sel.rois),
            visual_tokens=result.visual_tokens,
            latency_ms=round(latency_ms, 3),
            model_ids=dict(result.model_ids),
            evidence=evidence,
            stages=dict(result.stages),
            every=query.every,
            query_version=query.version,
        )


@dataclass(frozen=True)
class _Batch:
    """One window's due queries with their selections and text embeddings."""

    queries: Sequence[StandingQuery]
    window: Sequence[EncodedFrame]
    selections: Sequence[Selection]
    embs: FloatArray

    def of(self, idx: list[int]) -> tuple[list[StandingQuery], Sequence[EncodedFrame],
                                         list[Selection], FloatArray]:
        """The arguments of ``answer_many`` for the queries at ``idx``."""
        return ([self.queries[i] for i in idx], self.window,
                [self.selections[i] for i in idx], self.embs[idx])
