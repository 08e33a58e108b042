"""``feedwatch bench cascade``: VLM calls per window, VLM alone against the CLIP-gated cascade.

Scenes: ``--scenes`` scripted synthetic scenes of ``--seconds`` s; the asked object
(a colour–shape picked by the seed) is visible in two stretches that together cover
``--visible`` of the scene (a quarter by default) with one distractor around.
Frames are sampled at 1 fps and encoded once by the product encoder; the buffered
frames are shared by every window, as in a live run. One standing question
("is there {object}?") is evaluated every second over a 4-s window by the product
engine, three times over the same frames:

* ``vlm``: the ``vlm`` answerer on every window (the baseline: one call per window);
* ``cascade_no_reuse``: the ``cascade`` answerer with verdict reuse switched off
  (what the CLIP gate alone saves);
* ``cascade``: the ``cascade`` answerer as configured (gate + reuse on unchanged frames).

VLM calls are the adapter's own counter (prompts generated). Against the scene's
truth (the object visible in some frame of the window) the bench also reports the
gate's recall (positive windows that reached the VLM) and how many negative windows
it let through. With ``tiny-llava`` (random weights) the VLM's yes/no means nothing;
the calls and who decided do. Seeds 0–99 are the tuning range (the cascade's
defaults were chosen there); the default seeds start at 100.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from pipeline.engine import Engine, encode_frames
from pipeline.perceiver import AnswererCache
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Due
from pipeline.types import EncodedFrame, Frame, StandingQuery
from workers.bench._table import emit_json, hardware, hardware_line, print_table, progress_bar

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
    decided: Counter[str] = Counter()
    gate: Counter[str] = Counter()
    n = 0
    for scene in scenes:
        query = StandingQuery(
            f"bc-{scene.seed}",
            scene.question,
            (scene.frames[0].camera,),
            EVERY_S,
            WINDOW_S,
            answerer,
            settings,
        )
        for due, frames, positive in windows(scene):
            (answer,) = engine.evaluate(Due(due.camera, due.start, due.end, (query,)), frames)
            n += 1
            by = answer.stages.get("decided_by", answerer)
            decided[by] += 1
            gate[f"{'pos' if positive else 'neg'}_{'vlm' if by == 'vlm' else 'clip'}"] += 1
    calls = adapter.prompts_generated - calls0
    return {
        "windows": n,
        "vlm_calls": calls,
        "vlm_calls_per_window": round(calls / n, 4),
        "decided_by": {"clip": decided["clip"], "vlm": decided["vlm"]},
        "gate": dict(gate),
    }


def gate_figures(gate: dict[str, int]) -> dict[str, float | None]:
    """Recall of the gate on positive windows; share of negative windows let through."""
    pos = gate.get("pos_vlm", 0) + gate.get("pos_clip", 0)
    neg = gate.get("neg_vlm", 0) + gate.get("neg_clip", 0)
    return {
        "gate_recall": round(gate.get("pos_vlm", 0) / pos, 4) if pos else None,
        "gate_negatives_passed": round(gate.get("neg_vlm", 0) / neg, 4) if neg else None,
    }


def seed_list(text: str) -> list[int]:
    """``100-103`` or ``1,5,9``."""
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: a range A-B or a comma list of integers", param_hint="--seeds"
        ) from None


@click.command("cascade")
@click.option(
    "--vlm",
    "vlm_spec",
    default="tiny-llava",
    show_default=True,
    envvar="FEEDWATCH_PERCEPTION_VLM",
    help="LLaVA directory, cached hub id, or "
    "tiny-llava (built offline) [env FEEDWATCH_PERCEPTION_VLM].",
)
@click.option(
    "--clip",
    "clip_spec",
    default="shapes-demo",
    show_default=True,
    envvar="FEEDWATCH_PERCEPTION_CLIP",
    help="CLIP spec [env FEEDWATCH_PERCEPTION_CLIP].",
)
@click.option(
    "--seeds",
    default="100-103",
    show_default=True,
    envvar="FEEDWATCH_BENCH_SEEDS",
    help="Scene seeds (0-99 is the tuning range) [env FEEDWATCH_BENCH_SEEDS].",
)
@click.option(
    "--seconds",
    type=click.IntRange(8, 3600),
    default=40,
    show_default=True,
    envvar="FEEDWATCH_BENCH_SECONDS",
    help="Scene length [env FEEDWATCH_BENCH_SECONDS].",
)
@click.option(
    "--visible",
    type=click.FloatRange(0.05, 0.9),
    default=0.25,
    show_default=True,
    envvar="FEEDWATCH_BENCH_VISIBLE",
    help="Share of the scene the object is visible [env FEEDWATCH_BENCH_VISIBLE].",
)
@click.option(
    "--band",
    type=click.FloatRange(0, 2),
    default=None,
    envvar="FEEDWATCH_BENCH_BAND",
    help="Cascade band below the CLIP threshold (default: the answerer's) "
    "[env FEEDWATCH_BENCH_BAND].",
)
@click.option(
    "--reuse-distance",
    type=click.FloatRange(0, 2),
    default=None,
    envvar="FEEDWATCH_BENCH_REUSE_DISTANCE",
    help="Cascade reuse cosine distance "
    "(default: the answerer's) [env FEEDWATCH_BENCH_REUSE_DISTANCE].",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    envvar="FEEDWATCH_PERCEPTION_DEVICE",
    help="auto|cpu|cuda [env FEEDWATCH_PERCEPTION_DEVICE].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    vlm_spec: str,
    clip_spec: str,
    seeds: str,
    seconds: int,
    visible: float,
    band: float | None,
    reuse_distance: float | None,
    device: str,
    as_json: bool,
) -> None:
    """VLM calls per window: the VLM on every window vs the CLIP-gated cascade."""
    from pipeline.answerers.vlm import load_adapter
    from pipeline.models.clip_encoder import ClipEncoder

    encoder = ClipEncoder.from_spec(clip_spec, device)
    adapter = load_adapter(vlm_spec, device)
    engine = Engine(encoder, AnswererCache(encoder, vlm_spec), SelectionConfig(), evidence=False)
    tuned = {
        k: v for k, v in {"band": band, "reuse_distance": reuse_distance}.items() if v is not None
    }
    modes: dict[str, tuple[str, dict[str, Any]]] = {
        "vlm": ("vlm", {"device": device}),
        "cascade_no_reuse": (
            "cascade",
            {"vlm": {"device": device}, **tuned, "reuse_distance": 0.0, "reuse_max_age": 0.0},
        ),
        "cascade": ("cascade", {"vlm": {"device": device}, **tuned}),
    }
    with progress_bar() as progress:
        scenes = []
        for i, seed in enumerate(seed_list(seeds)):
            scenes.append(make_scene(encoder, seed, float(seconds), visible))
            progress("scenes (encoded once)", i + 1, len(seed_list(seeds)))
        results = {}
        for i, (name, (answerer, settings)) in enumerate(modes.items()):
            results[name] = run_mode(engine, adapter, scenes, answerer, settings)
            progress("modes", i + 1, len(modes))
    emit(results, scenes, vlm_spec, clip_spec, as_json)


def emit(
    results: dict[str, dict[str, Any]],
    scenes: Sequence[Scene],
    vlm_spec: str,
    clip_spec: str,
    as_json: bool,
) -> None:
    """The one JSON object, or the table."""
    shown = [v for s in scenes for v in s.visible]
    out: dict[str, Any] = {
        "vlm_calls_per_window": {k: r["vlm_calls_per_window"] for k, r in results.items()},
        "decided_by": results["cascade"]["decided_by"],
        "cascade_vs_vlm": round(
            results["cascade"]["vlm_calls"] / max(results["vlm"]["vlm_calls"], 1), 4
        ),
        **gate_figures(results["cascade"]["gate"]),
        "visible_share": round(sum(shown) / len(shown), 4),
        "seeds": [s.seed for s in scenes],
        "vlm": vlm_spec,
        "clip": clip_spec,
        "window_s": WINDOW_S,
        "every_s": EVERY_S,
        "modes": results,
        "hardware": hardware(),
    }
    if as_json:
        emit_json(out)
        return
    print_table(
        f"VLM calls per window ({len(scenes)} scenes, object visible "
        f"{out['visible_share']:.0%} of frames)",
        ["mode", "windows", "VLM calls", "per window", "decided by CLIP", "decided by VLM"],
        [
            [
                k,
                r["windows"],
                r["vlm_calls"],
                r["vlm_calls_per_window"],
                r["decided_by"]["clip"],
                r["decided_by"]["vlm"],
            ]
            for k, r in results.items()
        ],
        [
            f"cascade = {out['cascade_vs_vlm']:.0%} of the VLM calls; gate recall on windows "
            f"showing the object {out['gate_recall']}, negative windows let through "
            f"{out['gate_negatives_passed']}",
            hardware_line(out["hardware"]),
        ],
    )


__all__ = ["command", "make_scene", "run_mode", "windows"]
