"""Scoring clips: every window of every clip answered by each ``clip`` mode.

Each clip is one camera (a fresh ``MemoryStates`` per mode: a new camera and query). Its
frames come as a stream (:mod:`.stream`); for every window the product selection picks
frames once and each mode answers. A window counts in ``agreement`` when its truth is
known (:func:`.metrics.window_truth`); an undecided answer counts as a disagreement.
Event metrics are pooled over the clips (:class:`.metrics.EventCounts`).

Corrections: in a second pass of the default mode (run beside the others, with its own
states), the first ``corrections`` wrong answers of each clip are marked wrong by the
user right after they are given (as a click on ✗ would).

A cascade pass (:mod:`.passes`) answers as the default mode would in front of a VLM
that is right on every window it is asked about: ``cascade_gate``, a bound.

A clip that cannot be written, decoded or read to its end, or whose sidecar has an
event that starts after the decoded clip ends (its truth cannot be scored), is a
shortfall: the others are still scored, then :class:`Shortfall` is raised instead of a
result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from pipeline.errors import ConfigError
from pipeline.perception import select_for_queries
from pipeline.types import StandingQuery
from workers.bench.answers.dump import write_clip
from workers.bench.answers.metrics import window_truth
from workers.bench.answers.passes import (
    CASCADE,
    CORRECTED,
    DEFAULT_MODE,
    GATE_SPREADS,
    MODES,
    Pass,
    Setup,
    build_passes,
    mode_figures,
)
from workers.bench.answers.scenes import SceneSet
from workers.bench.answers.sidecar import Sidecar, SidecarError, after_end, read_sidecar
from workers.bench.answers.stream import Decoded, DecodeError, sampled_frames, windows

SHORT_DECODE_S = 0.5
"""A decode this much shorter than the sidecar's ``duration`` is a shortfall."""


class Shortfall(RuntimeError):
    """Some clips could not be scored; no figure is given over the others."""

    def __init__(self, failures: list[tuple[str, str]], total: int) -> None:
        self.failures, self.total = failures, total
        lines = "; ".join(f"{name}: {why}" for name, why in failures)
        super().__init__(f"{len(failures)} of {total} clips not scored ({lines})")


def score_clip(encoder: Any, passes: list[Pass], path: Path, truth: Sidecar, setup: Setup,
               camera: str, tick: Callable[[float], None] | None = None) -> float:
    """Answer every window of the clip at ``path`` with every pass; its decoded seconds."""
    for p in passes:
        p.begin()
    query = StandingQuery(f"q-{camera}", truth.target)
    emb = np.asarray(encoder.encode_text([truth.target]), dtype=np.float32)
    decoded, n = Decoded(), 0
    frames = sampled_frames(path, camera, decoded)
    for start, end, window in windows(encoder, frames, decoded, window=setup.window,
                                      every=setup.every):
        label = window_truth(start, end, truth.events)
        sel = select_for_queries(window, [query.id], emb, setup.selection)[0] if window else None
        for p in passes:
            p.answer(query, window, sel, emb[0], start, end, label)
        n += 1
        if tick and truth.duration:
            tick(min(end / truth.duration, 1.0))
    if not decoded.samples:
        raise DecodeError(f"no frame decoded ({decoded.frames} frames read)")
    if not n:
        raise DecodeError(f"{decoded.duration:.1f} s: shorter than one {setup.window:g}-s window")
    if truth.duration and decoded.duration < truth.duration - SHORT_DECODE_S:
        raise DecodeError(f"decoded {decoded.duration:.1f} s of {truth.duration:g} s")
    if late := truth.starting_after(decoded.duration):  # its windows would all be scored "no"
        raise SidecarError(f"{path.with_suffix('.json').name}: "
                           f"{after_end(*late[0], decoded.duration)}")
    return decoded.duration


def run_bench(
    encoder: Any, scenes: SceneSet, setup: Setup, *,
    progress: Callable[[float, int], None] | None = None, dump: TextIO | None = None,
) -> dict[str, Any]:
    """Every figure of the bench as one JSON-ready dict (:class:`Shortfall` if a clip
    could not be scored)."""
    import av

    passes = build_passes(encoder, setup)
    for p in passes:  # a dump lets the closer look's windows be replayed: all supports
        p.record_supports = dump is not None and p.name == DEFAULT_MODE
    failures: list[tuple[str, str]] = []
    past_end: list[dict[str, Any]] = []  # sidecar events the decoded clip ends before
    total = len(scenes.items)
    video_s = 0.0
    for n, item in enumerate(scenes.items):
        def tick(share: float, n: int = n) -> None:
            if progress:
                progress(n + share, total)

        with tempfile.TemporaryDirectory(prefix="fw-bench-answers-") as tmp:
            try:
                path = item.write(Path(tmp))
                truth = read_sidecar(path)
                duration = score_clip(encoder, passes, path, truth, setup, f"scene-{n}", tick)
            except (av.error.FFmpegError, DecodeError, SidecarError, ConfigError,
                    OSError) as exc:
                failures.append((item.name, f"{type(exc).__name__}: {exc}"))
                continue
        late = [off for _, off in truth.events if off > duration + SHORT_DECODE_S]
        if late:  # one line a clip, however many events
            past_end.append({"clip": item.name, "events": len(late), "latest_off_s": max(late),
                             "decoded_s": round(duration, 3)})
        for p in passes:
            p.finish(item.name, item.background, truth.events, duration)
        if dump is not None:
            write_clip(dump, item.name, item.background, truth, duration,
                       setup.closer_look, passes)
        video_s += duration
        tick(1.0)
    if failures:
        raise Shortfall(failures, total)
    return {**_result(passes, encoder, scenes, setup, video_s), "events_past_end": past_end}


def _result(passes: list[Pass], encoder: Any, scenes: SceneSet, setup: Setup,
            video_s: float) -> dict[str, Any]:
    modes = {p.name: mode_figures(p) for p in passes if p.name in MODES}
    default = modes[DEFAULT_MODE]
    events = ("event_recall", "onset_delay_s", "false_alerts_per_hour", "persistence",
              "flips_per_event")
    out: dict[str, Any] = {
        "default_mode": DEFAULT_MODE,
        "agreement": default["agreement"],
        **{k: default[k] for k in events},
        "hindsight": default["hindsight"],
        "cascade_gate": {**mode_figures(next(p for p in passes if p.name == CASCADE))[
            "cascade_gate"], "band_spreads": GATE_SPREADS, "teach": setup.teach},
        "per_background": default["per_background"],
        "modes": modes,
        "vs_threshold": _diff(default["agreement"], modes["threshold"]["agreement"]),
        "family": scenes.family, "long": scenes.long, "no_calibration": setup.no_calibration,
        "scenes": len(scenes.items), **scenes.describe,
        "video_s": round(video_s, 3), "window_s": setup.window, "every_s": setup.every,
        "clip": getattr(encoder, "model_id", "?"), "second_look": setup.second_look,
        "closer_look": setup.closer_look,
        "per_clip": next(p.clips for p in passes if p.name == DEFAULT_MODE),
    }
    corrected = next((p for p in passes if p.name == CORRECTED), None)
    if corrected is not None:
        after = mode_figures(corrected)
        out["corrections"] = {
            "per_scene": setup.corrections,
            "agreement_before": default["agreement"],
            "agreement_after": after["agreement"],
            "per_background_after": after["per_background"],
            **{f"{k}_after": after[k] for k in events},
        }
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)
