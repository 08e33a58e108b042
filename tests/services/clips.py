"""A tiny self-contained H.264 clip generator for service tests.

The project's real synthetic scenes live in ``pipeline.scenes``; this one only has to
be a valid, small, deterministic H.264 MP4 with a keyframe every 2 s.
"""

from __future__ import annotations

from pathlib import Path


def make_test_clip(path: Path, width: int = 320, height: int = 240, fps: int = 10,
                   seconds: float = 4.0) -> Path:
    """A small H.264 MP4 (moving white box on a colour ramp), keyframe every 2 s."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        gop = 2 * fps
        stream.codec_context.options = {
            "preset": "ultrafast",
            "bf": "0",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
        stream.codec_context.gop_size = gop
        for i in range(int(fps * seconds)):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, :, 0] = (i * 7) % 256
            x = (i * 5) % max(1, width - width // 8)
            image[height // 3: height // 3 + height // 6, x: x + width // 8] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path
