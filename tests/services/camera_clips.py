"""Clips encoded the way real cameras send them, made with the ffmpeg CLI in the tests.

Each maker writes a short ``testsrc2`` clip (moving colour pattern and a running
clock, so consecutive frames differ) and returns its path. The kinds: H.264 with
B-frames and irregular keyframes, HEVC, MJPEG (AVI), a long GOP with AAC audio,
tiny and odd frame sizes, variable frame rate, timestamps that start far from zero
or jump, and rotation metadata (portrait phone video).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise RuntimeError("ffmpeg is not installed; run `make system-deps`")
    return path


def has_encoder(name: str) -> bool:
    out = subprocess.run([ffmpeg(), "-hide_banner", "-encoders"], capture_output=True,
                         text=True, check=True).stdout
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.strip())


def _run(args: list[str], out: Path) -> Path:
    subprocess.run([ffmpeg(), "-v", "error", "-y", *args, str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


def _source(seconds: float, fps: float, size: tuple[int, int]) -> list[str]:
    """testsrc2 at an even size, scaled to ``size`` (odd sizes included) by a filter."""
    w, h = size
    even = f"{w + w % 2}x{h + h % 2}"
    return ["-f", "lavfi", "-i", f"testsrc2=size={even}:rate={fps}:duration={seconds},"
            f"scale={w}:{h}"]


def h264(out: Path, *, seconds: float = 8.0, fps: float = 25, size: tuple[int, int] = (320, 180),
         gop_s: float = 2.0, bframes: int = 0, keyframes: list[float] | None = None,
         audio: bool = False, pix_fmt: str = "yuv420p", extra: list[str] | None = None) -> Path:
    """H.264 with a fixed keyframe interval ``gop_s``, or keyframes exactly at ``keyframes``."""
    gop = max(1, round(gop_s * fps)) if keyframes is None else 100_000
    args = _source(seconds, fps, size)
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0"
    if bframes:  # ultrafast turns B-frames off; these settings turn them back on
        params += f":bframes={bframes}:b-adapt=0:b-pyramid=normal"
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix_fmt,
             "-x264-params", params]
    if keyframes is not None:
        args += ["-force_key_frames", ",".join(f"{t:g}" for t in keyframes)]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    return _run(args + (extra or []), out)


def hevc(out: Path, *, seconds: float = 8.0, fps: float = 12, size: tuple[int, int] = (176, 144),
         gop_s: float = 2.0) -> Path:
    """HEVC (libx265) with a fixed keyframe interval."""
    gop = max(1, round(gop_s * fps))
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
    return _run(_source(seconds, fps, size) + ["-c:v", "libx265", "-preset", "ultrafast",
                                                "-x265-params", params, "-tag:v", "hvc1"], out)


def mjpeg_avi(out: Path, *, seconds: float = 6.0, fps: float = 10,
              size: tuple[int, int] = (320, 240)) -> Path:
    """Motion JPEG in AVI, as cheap cameras record it."""
    return _run(_source(seconds, fps, size) + ["-c:v", "mjpeg", "-q:v", "5",
                                                "-pix_fmt", "yuvj420p"], out)


def jpeg_frames(folder: Path, *, count: int = 20, size: tuple[int, int] = (320, 240)) -> list[Path]:
    """Single JPEG images (what an MJPEG-over-HTTP camera sends one by one)."""
    folder.mkdir(parents=True, exist_ok=True)
    _run(_source(count / 10, 10, size) + ["-q:v", "5", "-start_number", "0"],
         folder / "f%03d.jpg")
    return sorted(folder.glob("f*.jpg"))


def vfr(out: Path, *, seconds: float = 8.0, size: tuple[int, int] = (320, 180)) -> Path:
    """Variable frame rate: 25 fps with frames dropped unevenly (gaps of 40-200 ms)."""
    keep = "select='lt(mod(n\\,10)\\,3)+lt(mod(n\\,7)\\,1)'"
    return _run(_source(seconds, 25, size) + ["-vf", keep, "-fps_mode", "vfr", "-c:v", "libx264",
                                              "-preset", "ultrafast", "-x264-params",
                                              "keyint=50:min-keyint=50:scenecut=0"], out)


def far_from_zero(out: Path, *, offset: float = 10_000.0, seconds: float = 6.0) -> Path:
    """MPEG-TS whose timestamps start ``offset`` seconds in (a camera up for hours)."""
    return h264(out, seconds=seconds, extra=["-output_ts_offset", f"{offset:g}", "-f", "mpegts"])


def jumping(out: Path, *, jump: float = 3600.0, seconds: float = 4.0) -> Path:
    """Two MPEG-TS pieces back to back, the second's clock ``jump`` seconds ahead."""
    first = h264(out.with_suffix(".a.ts"), seconds=seconds, extra=["-f", "mpegts"])
    second = h264(out.with_suffix(".b.ts"), seconds=seconds,
                  extra=["-output_ts_offset", f"{jump:g}", "-f", "mpegts"])
    out.write_bytes(first.read_bytes() + second.read_bytes())
    return out


def stepping_back(out: Path, *, seconds: float = 5.0, bframes: int = 3) -> Path:
    """Two MPEG-TS pieces with B-frames back to back, the second's clock 100 s behind
    the first's (a looped or spliced stream)."""
    ahead = ["-output_ts_offset", "100", "-f", "mpegts"]
    first = h264(out.with_suffix(".a.ts"), seconds=seconds, bframes=bframes, extra=ahead)
    second = h264(out.with_suffix(".b.ts"), seconds=seconds, bframes=bframes,
                  extra=["-f", "mpegts"])
    out.write_bytes(first.read_bytes() + second.read_bytes())
    return out


def untimed_start(out: Path, *, seconds: float = 10.0) -> Path:
    """An MKV whose first half has no timestamps: its clock starts at minus half its
    length, and the demuxer reads negative block times as none."""
    return h264(out, seconds=seconds, extra=["-output_ts_offset", f"{-seconds / 2:g}",
                                             "-avoid_negative_ts", "disabled"])


def raw_frames(out: Path, *, seconds: float = 3.0, fps: float = 10, pix_fmt: str = "yuyv422",
               size: tuple[int, int] = (320, 240)) -> Path:
    """Uncompressed frames in NUT, as a V4L2 webcam gives them (yuyv422)."""
    return _run(_source(seconds, fps, size) + ["-c:v", "rawvideo", "-pix_fmt", pix_fmt,
                                                "-f", "nut"], out)


def corrupt_mjpeg(out: Path, *, seconds: float = 6.0, fps: float = 10) -> Path:
    """MJPEG in AVI with every 397th byte of its middle fifth changed (frames there
    damaged, the container's framing mostly intact)."""
    import random

    clip = mjpeg_avi(out.with_suffix(".clean.avi"), seconds=seconds, fps=fps)
    data = bytearray(clip.read_bytes())
    rng = random.Random(1)
    for i in range(len(data) * 2 // 5, len(data) * 3 // 5, 397):
        data[i] = rng.randrange(256)
    out.write_bytes(bytes(data))
    return out


def rotated(out: Path, *, degrees: int = 90, seconds: float = 4.0,
            size: tuple[int, int] = (320, 180)) -> Path:
    """A landscape-coded clip whose display matrix says rotate (portrait phone video)."""
    import av

    plain = h264(out.with_suffix(".plain.mp4"), seconds=seconds, size=size)
    with av.open(str(plain)) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        stream.set_display_rotation(degrees)
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    return out
