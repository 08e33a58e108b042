"""The runs behind ``feedwatch bench cascade``: scenes, windows, one answerer's tallies."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.engine import Engine, encode_frames
from pipeline.errors import ConfigError
from pipeline.scheduler import Due
from pipeline.types import EncodedFrame, Frame, StandingQuery

WINDOW_S, EVERY_S = 4.0, 1.0
SIZE = (320, 240)


@dataclass(frozen=True)
class Scene:
    """One scene's encoded frames, its question and, per frame, whether the object shows."""

    seed: int
    question: str
    frames: tuple[EncodedFrame, ...]
    visible: tuple[bool, ...]


def make_scene(encoder: Any, seed: int, seconds: float, visible: float) -> Scene:
    """A scripted scene: the object in two stretches covering ``visible`` of it."""
    from pipeline.scenes import COLORS, SHAPES, caption, render, scripted_scene

    rng = random.Random(seed)
    target = (rng.choice(sorted(COLORS)), rng.choice(sorted(SHAPES)))
    stretch = seconds * visible / 2
    first = rng.uniform(0, seconds / 2 - stretch)
    second = rng.uniform(seconds / 2, seconds - stretch)
    spec = scripted_scene(
        target,
        [(first, first + stretch), (second, second + stretch)],
        distractors=1,
        seed=seed,
        duration=seconds,
        size=SIZE,
    )
    frames, shown = [], []
    for i in range(int(seconds)):
        t = i + 0.5
        rgb, truth = render(spec, t)
        frames.append(Frame(f"scene-{seed}", t, rgb, keyframe=True))
        shown.append(any((o.color, o.shape) == target for o in truth))
    encoded = encode_frames(encoder, frames)
    return Scene(seed, f"is there {caption(*target)}?", tuple(encoded), tuple(shown))


def windows(scene: Scene) -> list[tuple[Due, list[EncodedFrame], bool]]:
    """Every (due, window frames, object visible in the window) of one scene."""
    out = []
    end = WINDOW_S
    while end <= len(scene.frames) + 1e-9:
        idx = [i for i, f in enumerate(scene.frames) if end - WINDOW_S <= f.t < end]
        due = Due(scene.frames[0].camera, end - WINDOW_S, end, ())
        out.append((due, [scene.frames[i] for i in idx], any(scene.visible[i] for i in idx)))
        end += EVERY_S
    return out


def run_mode(
    engine: Engine, adapter: Any, scenes: Sequence[Scene], answerer: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """One answerer over every window of every scene; counts from the adapter and answers."""
    calls0 = adapter.prompts_generated
    tally: Counter[str] = Counter()
    for scene in scenes:
        cams = (scene.frames[0].camera,)
        query = StandingQuery(f"bc-{scene.seed}", scene.question, cams, EVERY_S, WINDOW_S,
                              answerer, settings)
        seen: dict[float, bool] = {}  # VLM-called window (newest selected frame) -> truth
        for due, frames, positive in windows(scene):
            (answer,) = engine.evaluate(Due(due.camera, due.start, due.end, (query,)), frames)
            by = answer.stages.get("decided_by", answerer)
            tally["windows"] += 1
            tally[by] += 1
            tally[f"{'pos' if positive else 'neg'}_{'vlm' if by == 'vlm' else 'clip'}"] += 1
            _tally_reuse(tally, answer.stages.get("vlm"), answer.frames, positive, seen)
    calls, n = adapter.prompts_generated - calls0, tally["windows"]
    gate = {k: tally[k] for k in ("pos_vlm", "pos_clip", "neg_vlm", "neg_clip")}
    return {"windows": n, "vlm_calls": calls, "vlm_calls_per_window": round(calls / n, 4),
            "decided_by": {"clip": tally["clip"], "vlm": tally["vlm"]}, "gate": gate,
            "reused": tally["reused"], "reused_truth_changed": tally["reused_changed"]}


def _tally_reuse(tally: Counter[str], stage: dict[str, Any] | None, frames: Sequence[float],
                 positive: bool, seen: dict[float, bool]) -> None:
    """Count reused verdicts, and those whose source window's truth differs from this one's."""
    if not stage:
        return
    if stage.get("called"):
        seen[max(frames)] = positive
        return
    tally["reused"] += 1
    tally["reused_changed"] += seen.get(stage.get("reused_from") or -1.0, positive) != positive


def gate_figures(gate: dict[str, int]) -> dict[str, float | None]:
    """Recall of the gate on positive windows; share of negative windows let through."""
    pos = gate.get("pos_vlm", 0) + gate.get("pos_clip", 0)
    neg = gate.get("neg_vlm", 0) + gate.get("neg_clip", 0)
    return {
        "gate_recall": round(gate.get("pos_vlm", 0) / pos, 4) if pos else None,
        "gate_negatives_passed": round(gate.get("neg_vlm", 0) / neg, 4) if neg else None,
    }


MAX_SEEDS = 1000
"""Most scenes one run makes (each is rendered and encoded up front)."""


def seed_list(text: str) -> list[int]:
    """``100-103`` or ``1,5,9``: at least one seed, a range low to high."""
    allowed = f"a range A-B with A <= B, or a comma list of integers (1 to {MAX_SEEDS} seeds)"
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            seeds = list(range(lo, hi + 1)) if hi - lo < MAX_SEEDS else []
        else:
            seeds = list(dict.fromkeys(int(x) for x in text.split(",") if x.strip()))
    except ValueError:
        seeds = []
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise ConfigError("--seeds", text, allowed)
    return seeds
