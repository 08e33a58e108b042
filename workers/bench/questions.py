"""``feedwatch bench questions``: Q standing questions on one camera window, two ways.

*product*: the window's ``--frames`` frames (1 fps) go through the product encoder
once (:func:`pipeline.engine.encode_frames`), then ONE :meth:`Engine.evaluate` call
answers all Q questions — one matrix product for the frame scores, per-question
frame selection, RoI, the ``clip`` answerer and the evidence JPEGs, exactly as
``feedwatch run`` does. Text embeddings are computed as the product does (the
engine's text cache, once per question when it is subscribed), so they are timed
separately and not per window. The timed figure is encode + evaluate.

*reference*: what the paper's code does — for every question, every frame is
encoded twice: once to score the frames against the question, once more for the
RoI/answer stage (here: a fresh window encode evaluated by the same engine for
that one question). It runs the encoder for real for Q ≤ ``--reference-max-q``;
larger Q are extrapolated linearly from the measured points and marked so.

Vision passes per frame are counted with the encoder's own counter
(``vision_frames_encoded``), not computed. With ``--answerer vlm --vlm SPEC``
(``tiny-llava`` runs anywhere) the questions are answered by the VLM and
``vlm_vision_passes_per_frame`` (top level, keyed by Q) counts the VLM vision
tower's frames from the adapter's own counter, per window frame: the product
shares one pass per selected frame among all questions, the reference (a fresh
window per question) pays for every question's frames. ``vlm_calls_per_window``
(keyed by Q) counts the answers the VLM generated per window (``--answerer cascade``:
only the questions its CLIP gate let through).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.engine import Engine, encode_frames
from pipeline.extensions import answerer_types, uses_vlm
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Due
from pipeline.selection import prompt_scores
from pipeline.types import Frame, StandingQuery
from workers.bench import _questions_view as view
from workers.bench._questions_view import Row, Run
from workers.bench._table import (
    Progress,
)

CAMERA = "bench-cam"
TEMPLATES = ("is there {} {}?", "has {} appeared {}?", "how many of {} are {}?",
             "alert me when {} shows up {}", "is {} moving {}?", "does {} stay {}?")
PLACES = ("in the frame", "near the left edge", "near the right edge", "at the top",
          "at the bottom", "in the middle", "next to the door", "by the exit")


def question_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct, natural-looking questions (deterministic)."""
    from pipeline.scenes import captions

    combos = [t.format(c, p) for t, c, p in itertools.product(TEMPLATES, captions(), PLACES)]
    if n > len(combos):
        combos += [f"{c} (variant {i})" for i, c in enumerate(combos * (n // len(combos)))]
    random.Random(seed).shuffle(combos)
    return combos[:n]


def standing_queries(texts: Sequence[str], window_s: float, answerer: str = "clip",
                     settings: dict[str, Any] | None = None) -> list[StandingQuery]:
    """One standing query per text on the bench camera, evaluated every second."""
    return [StandingQuery(id=f"bq-{i:05d}", question=t, cameras=(CAMERA,), every=1.0,
                          window=window_s, answerer=answerer, settings=dict(settings or {}))
            for i, t in enumerate(texts)]


def window_frames(n: int, size: tuple[int, int] = (640, 360), seed: int = 3) -> list[Frame]:
    """``n`` decoded-like frames of one synthetic scene at 1 fps."""
    from pipeline.scenes import random_scene, render

    spec = random_scene(seed, duration=float(n), size=size, background="clutter")
    return [Frame(CAMERA, i + 0.5, render(spec, i + 0.5)[0], keyframe=True) for i in range(n)]


def make_engine(encoder: Any, vlm_spec: str = "") -> Engine:
    """The engine ``feedwatch run`` builds: default selection, cached answerers, evidence."""
    from pipeline.perceiver import AnswererCache

    return Engine(encoder, AnswererCache(encoder, vlm_spec), SelectionConfig())


def _no_vlm() -> tuple[int, int]:
    return 0, 0


def run_product(encoder: Any, engine: Engine, frames: list[Frame],
                queries: Sequence[StandingQuery],
                vlm_frames: Callable[[], tuple[int, int]] = _no_vlm) -> Run:
    """Encode the window once, evaluate every query in one call (per-frame pass counts)."""
    passes0, vlm0 = encoder.vision_frames_encoded, vlm_frames()
    t0 = time.perf_counter()
    window = encode_frames(encoder, frames)
    t1 = time.perf_counter()
    answers = engine.evaluate(_due(frames, queries), window)
    t2 = time.perf_counter()
    passes = (encoder.vision_frames_encoded - passes0) / len(frames)
    return (t1 - t0, t2 - t1, passes, len(answers), *_vlm_delta(vlm_frames, vlm0, len(frames)))


def run_reference(encoder: Any, engine: Engine, frames: list[Frame],
                  queries: Sequence[StandingQuery],
                  vlm_frames: Callable[[], tuple[int, int]] = _no_vlm) -> Run:
    """Per question: encode every frame to score it, then encode again to answer."""
    passes0, vlm0 = encoder.vision_frames_encoded, vlm_frames()
    encode_s = evaluate_s = 0.0
    answers = 0
    for query in queries:
        t0 = time.perf_counter()
        globals_, _ = encoder.encode_frames([f.rgb for f in frames])
        prompt_scores(globals_, engine.texts([query.question]))
        window = encode_frames(encoder, frames)
        t1 = time.perf_counter()
        answers += len(engine.evaluate(_due(frames, [query]), window))
        encode_s += t1 - t0
        evaluate_s += time.perf_counter() - t1
    passes = (encoder.vision_frames_encoded - passes0) / len(frames)
    return (encode_s, evaluate_s, passes, answers,
            *_vlm_delta(vlm_frames, vlm0, len(frames)))


def _vlm_delta(counter: Callable[[], tuple[int, int]], start: tuple[int, int],
               frames: int) -> tuple[float, int]:
    """VLM vision frames per window frame, and VLM answers generated, since ``start``."""
    now = counter()
    return (now[0] - start[0]) / frames, now[1] - start[1]


def _due(frames: list[Frame], queries: Sequence[StandingQuery]) -> Due:
    return Due(CAMERA, 0.0, frames[-1].t + 0.5, tuple(queries))


def warm_texts(engine: Engine, texts: Sequence[str], progress: Progress,
               chunk: int = 64) -> float:
    """Encode the questions through the engine's text cache; seconds taken."""
    t0 = time.perf_counter()
    for i in range(0, len(texts), chunk):
        engine.texts(texts[i : i + chunk])
        progress("text embeddings (once per question)", min(i + chunk, len(texts)), len(texts))
    return time.perf_counter() - t0


@dataclass(frozen=True)
class Answering:
    """Who answers the bench's questions: ``clip``, or ``vlm`` with a model spec."""

    answerer: str = "clip"
    vlm: str = ""
    device: str = "auto"

    def settings(self) -> dict[str, Any]:
        """The device for the answerer's VLM: its own setting, or its ``vlm`` stage's."""
        fields = answerer_types()[self.answerer].config_cls.model_fields
        device = {"device": self.device}
        return {"vlm": device} if "vlm" in fields else device if "device" in fields else {}

    def vlm_frames(self) -> Callable[[], tuple[int, int]]:
        """The VLM adapter's own counters: vision-tower frames, answers generated."""
        if not uses_vlm(self.answerer):
            return _no_vlm
        from pipeline.answerers.vlm import load_adapter

        adapter = load_adapter(self.vlm, self.device)
        return lambda: (adapter.vision_frames_encoded, adapter.prompts_generated)


def measure(encoder: Any, frames: list[Frame], qs: list[int], ref_max: int, repeat: int,
            progress: Progress, answering: Answering | None = None
            ) -> tuple[list[Row], list[Row], float]:
    """Product rows for every Q, reference rows measured up to ``ref_max``."""
    how = answering or Answering()
    engine = make_engine(encoder, how.vlm)
    queries = standing_queries(question_texts(max(qs)), float(len(frames)), how.answerer,
                               how.settings())
    counter = how.vlm_frames()
    text_s = warm_texts(engine, [q.question for q in queries], progress)
    run_product(encoder, engine, frames, queries[:1], counter)  # warm-up: first-call allocations
    best: dict[int, Run] = {}
    for rep in range(repeat):  # interleaved, so a load change hits every Q alike
        for q in _tick(qs, progress, f"product: encode once + one evaluation ({rep + 1})"):
            run = run_product(encoder, engine, frames, queries[:q], counter)
            best[q] = min(best.get(q, run), run, key=lambda r: r[0] + r[1])
    product = [best[q] for q in qs]
    ref_qs = [q for q in qs if q <= ref_max]
    reference = [run_reference(encoder, engine, frames, queries[:q], counter)
                 for q in _tick(ref_qs, progress, "reference: 2 encodes per question")]
    vlm = uses_vlm(how.answerer)
    return (view.rows("product", qs, product, vlm),
            view.extrapolate(view.rows("reference", ref_qs, reference, vlm), qs), text_s)


def _tick(values: list[int], progress: Progress, label: str) -> Iterator[int]:
    progress(label, 0, len(values))
    for i, v in enumerate(values):
        yield v
        progress(label, i + 1, len(values))


__all__ = ["Answering", "measure", "question_texts", "run_product", "run_reference",
           "window_frames"]
