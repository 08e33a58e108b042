"""What a soak run is made of: clips, a tiny CLIP, queries, the alert rule, the oracle.

The expected answers come from the embedded run's own :class:`Perceiver` replayed
over exactly the segments that reached the topic (one camera at a time, in offset
order), so "missing" and "extra" compare the distributed run with the single-process
path on identical input. Expected incidents replay :class:`pipeline.alerts.AlertEngine`
over the stored answers in window order.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import Condition, ConditionKind, EventKind, Rule
from pipeline.types import Answer, Segment, StandingQuery

EVERY, WINDOW, SAMPLE_FPS, SEGMENT_S = 1.0, 2.0, 2.0, 1.0
QUERIES = (
    StandingQuery("soak-red", "a red circle", ("*",), EVERY, WINDOW, "clip"),
    StandingQuery("soak-blue", "a blue square", ("*",), 2 * EVERY, 2 * WINDOW, "clip"),
)
ALERT_QUERY = QUERIES[0].id
OPEN_AFTER, CLOSE_AFTER = 2, 2


def tiny_clip(directory: Path) -> str:
    """A seeded tiny random open_clip folder (same weights in every process)."""
    from pipeline.models.tiny import save_tiny_clip

    return save_tiny_clip(directory)


def make_clip(directory: Path, name: str, seed: int, seconds: float) -> Path:
    """A seeded synthetic scene: a red circle that comes and goes (320x240, 4 fps)."""
    from pipeline.scenes import scripted_scene, write_clip

    visible = [(t, t + 6.0) for t in range(3, int(seconds) - 6, 14)]
    scene = scripted_scene(
        ("red", "circle"),
        visible,
        distractors=1,
        seed=seed,
        duration=seconds,
        size=(320, 240),
        fps=4,
    )
    return write_clip(scene, directory / f"{name}.mp4", fps=4, keyframe_interval_s=SEGMENT_S)


def perception_env(clip_spec: str) -> dict[str, str]:
    return {
        "FEEDWATCH_PERCEPTION_CLIP": clip_spec,
        "FEEDWATCH_PERCEPTION_SAMPLE_FPS": str(SAMPLE_FPS),
        "FEEDWATCH_PERCEPTION_DEVICE": "cpu",
    }


def make_perceivers(clip_spec: str) -> Any:
    """``queries -> Perceiver``, built exactly like the workers build theirs."""
    from workers.config import load_settings
    from workers.perception.build import load_encoder, perceiver_from_settings

    p = load_settings(
        perception={"clip": clip_spec, "sample_fps": SAMPLE_FPS, "device": "cpu"}
    ).perception
    encoder = load_encoder(p)
    return lambda queries: perceiver_from_settings(p, encoder, queries=queries)


def expected_answers(
    segments: dict[str, list[Segment]], make: Any
) -> tuple[set[tuple[str, str, float]], int]:
    """(query, camera, window_end) of every answer the segments make due; bad segments."""
    from pipeline.errors import FeedwatchError

    keys: set[tuple[str, str, float]] = set()
    bad = 0
    for segs in segments.values():
        perceiver = make(QUERIES)
        for seg in segs:
            try:
                answers = perceiver.on_segment(seg)
            except FeedwatchError:
                bad += 1
                continue
            keys.update((a.query_id, a.camera, a.window_end) for a in answers)
    return keys, bad


def calibrate_threshold(clip: Path, make: Any, seconds: float = 30.0) -> float:
    """The median score of ``a red circle`` answers on the clip: incidents come and go."""
    from connectors import video

    perceiver = make(QUERIES[:1])
    scores = []
    for seg in video.segments(str(clip), "calibrate"):
        if seg.start > seconds:
            break
        scores += [a.score for a in perceiver.on_segment(seg) if a.score is not None]
    return round(statistics.median(scores), 6) if scores else 0.0


def alert_rule(threshold: float, hook_id: str) -> Rule:
    condition = Condition(ConditionKind.SCORE_AT_LEAST, threshold=threshold)
    return Rule("soak-rule", ALERT_QUERY, condition, OPEN_AFTER, CLOSE_AFTER, hooks=(hook_id,))


def expected_incidents(rule: Rule, answers: Iterable[Answer]) -> set[tuple[str, float]]:
    """(camera, window_end) of every incident opening, answers fed in window order."""
    per_camera: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        if a.query_id == rule.query_id:
            per_camera[a.camera].append(a)
    opened: set[tuple[str, float]] = set()
    for camera, items in per_camera.items():
        engine = AlertEngine([rule])
        for a in sorted(items, key=lambda a: a.window_end):
            for event in engine.feed(a)[0]:
                if event.kind is EventKind.OPENED:
                    opened.add((camera, a.window_end))
    return opened
