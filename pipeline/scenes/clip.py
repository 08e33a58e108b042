"""H.264 MP4 clips of a scene with a JSON ground-truth sidecar.

The encoder places a keyframe exactly every ``keyframe_interval_s`` (x264
``keyint = min-keyint = fps·interval``, ``scenecut=0``, no open GOP), so segmenters can
cut ~2 s keyframe-aligned segments. PyAV is imported inside :func:`write_clip` only.
The sidecar ``<clip>.json`` holds the clip's format, the spec that made it, and for
every frame its time and each visible object's colour, shape, pixel box and centre.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.scenes.render import ObjectTruth, render
from pipeline.scenes.spec import SceneSpec

Progress = Callable[[int, int], None]
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one frame of a clip."""

    t: float
    objects: tuple[ObjectTruth, ...]

    def has(self, color: str, shape: str) -> bool:
        return any(o.color == color and o.shape == shape for o in self.objects)


@dataclass(frozen=True)
class ClipTruth:
    """A clip's sidecar, read back."""

    fps: float
    width: int
    height: int
    duration: float
    keyframe_interval_s: float
    frames: tuple[FrameTruth, ...]
    spec: SceneSpec

    def at(self, t: float) -> FrameTruth:
        """The frame shown at time ``t`` (the last frame starting at or before it)."""
        i = min(max(int(t * self.fps + 1e-6), 0), len(self.frames) - 1)
        return self.frames[i]


def sidecar_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def write_clip(
    spec: SceneSpec,
    path: str | Path,
    *,
    fps: int = 25,
    keyframe_interval_s: float = 2.0,
    codec: str = "libx264",
    crf: int = 20,
    progress: Progress | None = None,
) -> Path:
    """Encode the scene to ``path`` (MP4, yuv420p) and write its sidecar; returns ``path``."""
    import av  # lazy: keeps ``import pipeline.scenes`` light

    gop = round(fps * keyframe_interval_s)
    if gop < 1 or abs(gop - fps * keyframe_interval_s) > 1e-6:
        raise ConfigError("keyframe_interval_s", keyframe_interval_s, "a multiple of 1/fps")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    times = spec.frame_times(fps)
    frames: list[dict[str, Any]] = []
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream(codec, rate=fps, options=_x264_options(codec, gop, crf))
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.gop_size = gop
        for i, t in enumerate(times):
            rgb, truth = render(spec, t)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
            frames.append({"t": t, "objects": [_truth_dict(o) for o in truth]})
            if progress:
                progress(i + 1, len(times))
        container.mux(stream.encode(None))
    meta = {
        "version": SIDECAR_VERSION, "fps": fps, "width": spec.width, "height": spec.height,
        "duration": len(times) / fps, "keyframe_interval_s": keyframe_interval_s,
        "codec": codec, "spec": spec.to_dict(), "frames": frames,
    }
    sidecar_path(out).write_text(json.dumps(meta, separators=(",", ":")))
    return out


def _x264_options(codec: str, gop: int, crf: int) -> dict[str, str]:
    if codec not in ("libx264", "h264"):
        return {}
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0"
    return {"preset": "veryfast", "crf": str(crf), "x264-params": params}


def _truth_dict(o: ObjectTruth) -> dict[str, Any]:
    return {
        "color": o.color, "shape": o.shape, "box": list(o.box),
        "centre": [round(o.centre[0], 2), round(o.centre[1], 2)], "index": o.index,
    }


def load_truth(path: str | Path) -> ClipTruth:
    """Read the sidecar of a clip (pass the clip's path or the sidecar's)."""
    p = Path(path)
    meta = json.loads((p if p.suffix == ".json" else sidecar_path(p)).read_text())
    frames = tuple(
        FrameTruth(float(f["t"]), tuple(_truth_from(o) for o in f["objects"]))
        for f in meta["frames"]
    )
    return ClipTruth(
        float(meta["fps"]), int(meta["width"]), int(meta["height"]), float(meta["duration"]),
        float(meta["keyframe_interval_s"]), frames, SceneSpec.from_dict(meta["spec"]),
    )


def _truth_from(o: dict[str, Any]) -> ObjectTruth:
    x0, y0, x1, y1 = (int(v) for v in o["box"])
    cx, cy = (float(v) for v in o["centre"])
    color, shape = str(o["color"]), str(o["shape"])
    return ObjectTruth(color, shape, (x0, y0, x1, y1), (cx, cy), int(o["index"]))
