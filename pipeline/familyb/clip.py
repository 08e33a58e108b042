"""Writing a family-b scene as a low-bitrate H.264 MP4 with its truth sidecar.

Frames are rendered and encoded one at a time (never all held in memory). The encoder
puts a keyframe exactly every ``keyframe_s`` seconds (x264 ``keyint = min-keyint``,
``scenecut=0``, closed GOPs) at the scene's ``crf`` (28–32: visible compression). PyAV
is imported inside :func:`write_clip` only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.familyb.frame import iter_frames
from pipeline.familyb.spec import FamilyBScene


def truth(scene: FamilyBScene) -> dict[str, Any]:
    """The sidecar: the public truth format ``{"target", "events"}`` plus provenance."""
    return {
        "target": scene.question,
        "events": [[on, off] for on, off in scene.events],
        "family": "b", "seed": scene.seed, "level": scene.level, "duration": scene.duration,
    }


def write_clip(
    scene: FamilyBScene, path: str | Path, fps: int = 5, *, keyframe_s: float = 2.0
) -> Path:
    """Encode ``scene`` to ``path`` (MP4, H.264, yuv420p) and write
    ``path.with_suffix('.json')`` beside it; returns ``path``."""
    import av  # lazy: ``import pipeline.familyb`` stays numpy-only

    gop = round(fps * keyframe_s)
    if fps < 1 or gop < 1 or abs(gop - fps * keyframe_s) > 1e-6:
        raise ConfigError("fps", fps, "a positive integer with fps·keyframe_s whole")
    w, h = scene.size
    if w % 2 or h % 2:
        raise ConfigError("size", f"{w}x{h}", "even width and height (yuv420p)")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0"
    options = {"preset": "veryfast", "crf": str(scene.crf), "x264-params": params}
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps, options=options)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        for i, (_, rgb) in enumerate(iter_frames(scene, fps)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    out.with_suffix(".json").write_text(json.dumps({**truth(scene), "fps": fps}))
    return out
