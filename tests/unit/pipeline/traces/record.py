"""Record the window evidence traces the tracker tests replay (run by hand, not by pytest).

``python -m tests.unit.pipeline.traces.record`` watches long family-a scenes from the
tuning range (seed 1001) with the bundled ``shapes-demo`` CLIP, 1 frame/s through
H.264, and writes per 4-s window (every 1 s) the evidence the adaptive ``clip``
answerer judges: score, zero-shot support as a window that could turn yes asks it (on the
closer look at the best frame, where the whole frame's support does not already rule it
out), unit, the window's truth, and the support a state already yes is held by (the whole
frame against its ten strongest alternatives). Besides
the scenes with one 180-s event (``scenes``), ``never`` holds 600-s scenes whose target
never appears (its distractors come and go).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import av
import numpy as np

from pipeline.answerers.alternatives import Alternatives
from pipeline.answerers.closer import LOOK_FROM, STAY_TOP
from pipeline.answerers.second_look import SecondLook
from pipeline.engine import encode_frames
from pipeline.models.clip_encoder import ClipEncoder
from pipeline.scenes import BACKGROUNDS, COLORS, SHAPES, caption, scripted_scene, write_clip
from pipeline.scenes.watch import watch_scene, window_truth
from pipeline.types import Frame

OUT = Path(__file__).with_name("long_scenes.json")
SEED, SCENES, DURATION, VISIBLE, FPS = 1001, 4, 300.0, 180.0, 5
NEVER, NEVER_S = 3, 600.0


def _frames(scene, camera: str) -> list:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_clip(scene.spec, Path(tmp) / "s.mp4", fps=FPS)
        with av.open(str(path)) as box:
            rgb = [f.to_ndarray(format="rgb24") for i, f in enumerate(box.decode(video=0))
                   if i % FPS == 0]
    return encode_frames(ENC, [Frame(camera, float(t), x) for t, x in enumerate(rgb)])


def _windows(frames: list, question: str, truth) -> list:  # type: ignore[no-untyped-def]
    q = ENC.encode_text([question])[0]
    alts, closer = Alternatives(ENC), SecondLook(ENC, 3.0)
    rows = []
    for end in range(4, len(frames) + 1):
        win = frames[end - 4:end]
        scores = [float(f.global_emb @ q) for f in win]
        best = win[int(np.argmax(scores))]
        support, unit = alts.support(question, best.global_emb, max(scores))
        if support >= LOOK_FROM:  # what the answerer asks of a window that could turn yes
            crop = closer.embeddings([best], question, q)[0]
            support, _ = alts.support(question, crop, float(crop @ q))
        stay, _ = alts.support(question, best.global_emb, max(scores), STAY_TOP)
        rows.append([float(end), round(max(scores), 5), round(support, 4), round(unit, 5),
                     truth(end - 4.0, float(end)), round(stay, 4)])
    return rows


def _trace(n: int) -> dict[str, object]:
    scene = watch_scene(SEED * 100_003 + n, BACKGROUNDS[n % 4], level="easy",
                        duration=DURATION, visible=VISIBLE)
    rows = _windows(_frames(scene, f"c{n}"), scene.question,
                    lambda a, b: window_truth(scene, a, b))
    return {"question": scene.question, "visible": list(scene.visible), "windows": rows}


def _never(n: int) -> dict[str, object]:
    seed = SEED * 100_003 + 50 + n
    target = (list(COLORS)[seed % len(COLORS)], SHAPES[seed % len(SHAPES)])
    spec = scripted_scene(target, (), distractors=1 + n % 3, seed=seed, duration=NEVER_S,
                          background=BACKGROUNDS[n % 4], fps=FPS)
    scene = type("Scene", (), {"spec": spec})()
    rows = _windows(_frames(scene, f"n{n}"), caption(*target), lambda a, b: False)
    return {"question": caption(*target), "visible": [], "windows": rows}


if __name__ == "__main__":
    ENC = ClipEncoder.from_spec("shapes-demo", "cpu")
    OUT.write_text(json.dumps({"seed": SEED, "columns": ["end", "score", "support", "unit",
                                                          "truth", "stay_support"],
                               "scenes": [_trace(n) for n in range(SCENES)],
                               "never": [_never(n) for n in range(NEVER)]}))
