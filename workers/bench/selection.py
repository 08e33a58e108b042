"""``feedwatch bench selection``: frame-selection recall and RoI hit rate on fresh scenes.

Each scene is one evaluation window of ``--window`` seconds sampled at 1 fps. The asked
object (a random colour–shape) is visible in one stretch covering between ``k`` frames
and 30% of the window; 1–3 distractors (on ``hard``: sharing its colour or its shape)
stay for long stretches over a random background and frame size. Every frame goes
through the product encoder once; selection and RoI use the product functions:

* ``precision_at_k``: fraction of the k prompt-selected frames that show the object
  (``recall_prompt``, its older name); ``recall_at_k``: fraction of ALL frames showing
  the object that are among the k; ``uniform_*``: the same for k uniform frames.
* ``roi``: per α in 0.15, 0.3, 0.6, ``hit``, ``hit_offcentre``, ``coverage`` and the
  ``random_hit`` / ``centre_hit`` baselines (see :mod:`workers.bench._selection_roi`).
* ``roi_hit_rate``: over prompt-selected frames that show the object, the fraction
  whose α-box (mapped to frame pixels) contains the object's centre;
  ``roi_hit_offcentre``: the same over objects a centred box of that size misses;
  ``roi_hit_centre_baseline``: the fixed centred box, over the same frames.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from pipeline import budget, roi, selection
from pipeline.roi import DEFAULT_ESTIMATOR, ESTIMATORS
from pipeline.scenes import COLORS, FRAME_SIZES, SHAPES, caption, render_labels, scripted_scene
from pipeline.scenes.render import ObjectTruth
from workers.bench._selection_roi import RoiTallies, Tally, contains, ratio

MAX_VISIBLE = 0.3


@dataclass
class Totals:
    """Counts over every scene of a run: frame selection, and RoI by estimator and by α."""

    prompt_hits: int = 0
    uniform_hits: int = 0
    positives: int = 0
    centre: Tally = field(default_factory=Tally)
    rois: dict[str, Tally] = field(default_factory=dict)
    by_alpha: RoiTallies = field(default_factory=RoiTallies)


def bench_scene(seed: int, level: str, window: int, k: int) -> tuple[Any, tuple[str, str]]:
    """A window-long scene whose target is visible in k..30% of its 1-fps frames."""
    rng = random.Random(seed)
    target = (rng.choice(list(COLORS)), rng.choice(SHAPES))
    length = rng.randint(k, max(k, int(MAX_VISIBLE * window)))
    start = rng.randint(0, window - length)
    spec = scripted_scene(
        target, [(float(start), float(start + length))], distractors=rng.randint(1, 3),
        seed=seed, duration=float(window), size=rng.choice(FRAME_SIZES),
        background=rng.choice(["plain", "gradient", "noise", "clutter"]),
        level=level,  # type: ignore[arg-type]
    )
    return spec, target


def _target_truth(truth: list[ObjectTruth], target: tuple[str, str]) -> ObjectTruth | None:
    return next((o for o in truth if (o.color, o.shape) == target), None)


def run_scene(encoder: Any, seed: int, level: str, window: int, k: int, alpha: float,
              estimators: list[str], totals: Totals) -> None:
    """Encode one scene's frames once and add its selection and RoI figures."""
    spec, target = bench_scene(seed, level, window, k)
    times = [i + 0.5 for i in range(window)]
    labelled = [render_labels(spec, t) for t in times]
    rendered = [(rgb, truth) for rgb, _, truth in labelled]
    globals_, patches = encoder.encode_frames([rgb for rgb, _ in rendered])
    q = encoder.encode_text([caption(*target)])[0]
    scores = selection.prompt_scores(globals_, q[None, :])[0]
    truths = [_target_truth(tr, target) for _, tr in rendered]
    chosen = selection.select_frames(scores, k, 0, times=times)
    uniform = selection.uniform_indices(len(times), k)
    totals.prompt_hits += sum(truths[i] is not None for i in chosen)
    totals.uniform_hits += sum(truths[i] is not None for i in uniform)
    totals.positives += sum(t is not None for t in truths)
    rng = random.Random(seed)
    main_est = estimators[0] if len(estimators) == 1 else DEFAULT_ESTIMATOR
    gh, gw = encoder.grid
    centred = roi.centred_roi(gh, gw, alpha)
    for i in chosen:
        obj = truths[i]
        if obj is None:
            continue
        off = not contains(centred, spec.height, spec.width, obj)
        totals.centre.add(not off, off)
        sim = roi.similarity_map(patches[i], q)
        mask = labelled[i][1] == obj.index
        totals.by_alpha.add(sim, obj, mask, (spec.height, spec.width), main_est, rng)
        for est in estimators:
            box = roi.estimate_roi(sim, alpha, est)
            hit = contains(box, spec.height, spec.width, obj)
            totals.rois.setdefault(est, Tally()).add(hit, off)


def run_bench(encoder: Any, *, scenes: int, seed: int, level: str, estimator: str,
              k: int = 6, window: int = 30, alpha: float = 0.6,
              progress: Any = None) -> dict[str, Any]:
    """All figures as one JSON-ready dict (see the module docstring)."""
    estimators = list(ESTIMATORS) if estimator == "all" else [estimator]
    main = DEFAULT_ESTIMATOR if estimator == "all" else estimator
    totals = Totals()
    passes_before = getattr(encoder, "vision_frames_encoded", 0)
    for n in range(scenes):
        run_scene(encoder, seed * 100_003 + n, level, window, k, alpha, estimators, totals)
        if progress:
            progress(n + 1, scenes)
    passes = getattr(encoder, "vision_frames_encoded", 0) - passes_before
    selected, frames = scenes * k, scenes * window
    out: dict[str, Any] = {
        "precision_at_k": ratio(totals.prompt_hits, selected),
        "recall_at_k": ratio(totals.prompt_hits, totals.positives),
        "uniform_precision_at_k": ratio(totals.uniform_hits, selected),
        "uniform_recall_at_k": ratio(totals.uniform_hits, totals.positives),
        "roi": totals.by_alpha.figures(),
        "recall_prompt": ratio(totals.prompt_hits, selected),
        "recall_uniform": ratio(totals.uniform_hits, selected),
        **totals.rois.get(main, Tally()).figures(),
        "roi_hit_centre_baseline": ratio(totals.centre.hits, totals.centre.total),
        "roi_estimator": main,
        "tokens_per_answer": tokens_per_answer(alpha),
        "vision_passes_per_frame": ratio(passes, frames),
        "scenes": scenes, "level": level, "seed": seed, "k": k, "window_frames": window,
        "alpha": alpha, "clip": getattr(encoder, "model_id", "?"), "grid": list(encoder.grid),
    }
    if estimator == "all":
        out["estimators"] = {e: t.figures() for e, t in totals.rois.items()}
    return out


def tokens_per_answer(alpha: float, k_prompt: int = 3, k_uniform: int = 3) -> dict[str, int]:
    """Visual tokens per answer on LLaVA-v1.6's 24×24 grid pooled to 24×12."""
    frames = k_prompt + k_uniform
    return {
        "default": budget.visual_tokens(frames, *budget.LLAVA_GRID, alpha, pool=(1, 2)),
        "uniform": budget.visual_tokens(frames, *budget.LLAVA_GRID, None, pool=(1, 2)),
        "slowfast": budget.slowfast_llava_tokens(),
    }


__all__ = ["MAX_VISIBLE", "bench_scene", "run_bench", "tokens_per_answer"]
