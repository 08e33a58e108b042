"""Write family a's check sets for ``feedwatch bench answers --clips`` (run by hand).

Both are made by family a's own code from the tuning range, so they may be used to
choose; ``docs/evaluation.md`` cites them:

* ``refilmed OUT``: the 12 long scenes of seed 1001 (one 180-s event, from the first
  frame in every third) filmed by a harder camera: light falling from 1 to 0.35 across
  the clip (day to night), sensor noise (σ 4 grey levels), crf 30, and a grey bar
  crossing the frame left to right in 6 s of every minute;
* ``jittered OUT [--level hard] [--count 40] [--seed 1001]``: the bench's 30-s scenes
  with every object stretched and turned as ``train_shapes --shape-jitter`` draws them.

``python -m tests.unit.pipeline.traces.check_sets refilmed /tmp/refilmed``
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import av
import numpy as np

from pipeline.models.train_shapes import jitter_shapes
from pipeline.scenes import render, write_clip
from pipeline.scenes.watch import WatchScene
from workers.bench.answers.scenes import SCENE_STRIDE, VIDEO_FPS, _watch_scene, long_watch_scene

BACKGROUNDS = ("plain", "gradient", "noise", "clutter")
NIGHT, NOISE, CRF, BAR_EVERY, BAR_SHARE = 0.35, 4.0, 30, 60.0, 0.1


def _sidecar(path: Path, scene: WatchScene, background: str) -> None:
    path.with_suffix(".json").write_text(json.dumps({
        "target": scene.question, "events": [list(scene.visible)], "background": background,
        "duration": scene.spec.duration}))


def refilmed(out: Path, count: int = 12, seed: int = 1001) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        scene_seed, bg = seed * SCENE_STRIDE + n, BACKGROUNDS[n % 4]
        scene = long_watch_scene(scene_seed, bg, "hard", from_start=n % 3 == 0)
        spec, rng = scene.spec, np.random.default_rng(scene_seed)
        path = out / f"refilmed-{scene_seed}.mp4"
        with av.open(str(path), "w") as box:
            stream = box.add_stream("libx264", rate=VIDEO_FPS,
                                    options={"crf": str(CRF), "preset": "veryfast"})
            assert isinstance(stream, av.VideoStream)
            stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
            for i, t in enumerate(spec.frame_times(VIDEO_FPS)):
                rgb, _ = render(spec, t)
                x = rgb.astype(np.float32) * (1.0 - (1.0 - NIGHT) * t / spec.duration)
                x += rng.normal(0.0, NOISE, x.shape)
                phase = (t % BAR_EVERY) / BAR_EVERY
                if phase < BAR_SHARE:
                    width = max(4, spec.width // 25)
                    x0 = int(phase / BAR_SHARE * (spec.width + width)) - width
                    x[:, max(0, x0):max(0, x0 + width)] = 110
                frame = av.VideoFrame.from_ndarray(np.clip(x, 0, 255).astype(np.uint8),
                                                   format="rgb24")
                frame.pts = i
                box.mux(stream.encode(frame))
            box.mux(stream.encode(None))
        _sidecar(path, scene, bg)


def jittered(out: Path, level: str = "hard", count: int = 40, seed: int = 1001) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        scene_seed, bg = seed * SCENE_STRIDE + n, BACKGROUNDS[n % 4]
        scene = _watch_scene(scene_seed, bg, level)
        spec = jitter_shapes(scene.spec, random.Random(f"check/{scene_seed}"), 1.0)
        path = write_clip(spec, out / f"jittered-{scene_seed}.mp4", fps=VIDEO_FPS)
        _sidecar(path, scene, bg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("set", choices=("refilmed", "jittered"))
    ap.add_argument("out", type=Path)
    ap.add_argument("--level", default="hard", choices=("easy", "hard"))
    ap.add_argument("--count", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1001)
    args = ap.parse_args()
    if args.set == "refilmed":
        refilmed(args.out, args.count or 12, args.seed)
    else:
        jittered(args.out, args.level, args.count or 40, args.seed)


if __name__ == "__main__":
    main()
