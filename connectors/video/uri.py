"""Which kind of source a URI names, and how FFmpeg should open it (pure logic)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError

ALLOWED = "a file path, rtsp(s)://, http(s):// (incl. HLS .m3u8), udp://, srt:// or /dev/video*"
V4L2_OPTIONS = frozenset({"video_size", "framerate", "input_format", "pixel_format"})
_CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class SourceSpec:
    """How to open one camera: FFmpeg URL, forced format and options."""

    uri: str
    kind: str  # file | rtsp | http | hls | udp | srt | v4l2
    url: str
    live: bool
    ends: bool = False  # True: end of stream means done (files, HTTP); False: reconnect
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def check_camera(camera: str) -> str:
    """Camera ids end up in file names and Kafka keys: keep them plain."""
    if not isinstance(camera, str) or not _CAMERA_ID.match(camera):
        raise ConfigError("camera", camera, "use 1-64 of A-Z a-z 0-9 . _ - (starting alphanumeric)")
    return camera


def parse_uri(uri: str, settings: VideoSettings) -> SourceSpec:
    """Classify ``uri``; a bad scheme or a missing file is a ``ConfigError``."""
    if not uri or not uri.strip():
        raise ConfigError("uri", uri, f"give {ALLOWED}")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        if parts.path.startswith("/dev/video"):
            return _device(parts.path, parts.query)
        return _local(parts.path if scheme == "file" else uri)
    builder = _BUILDERS.get(scheme)
    if builder is None:
        raise ConfigError("uri", uri, f"unsupported scheme {scheme!r}; give {ALLOWED}")
    return builder(uri, settings)


def _device(path: str, query: str) -> SourceSpec:
    """``/dev/video0?video_size=640x480&framerate=15&input_format=mjpeg``."""
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - V4L2_OPTIONS)
    if unknown:
        raise ConfigError("uri", f"{path}?{query}", f"V4L2 options are {sorted(V4L2_OPTIONS)}")
    uri = f"{path}?{query}" if query else path
    return SourceSpec(uri, "v4l2", path, live=True, format="v4l2", options=options)


def _local(path: str) -> SourceSpec:
    if not Path(path).is_file():
        raise ConfigError("uri", path, "no such file (give an existing video file or a URL)")
    return SourceSpec(path, "file", path, live=False, ends=True)


def _us(seconds: float) -> str:
    return str(int(seconds * 1_000_000))


def _rtsp(uri: str, s: VideoSettings) -> SourceSpec:
    opts = {"rtsp_transport": s.rtsp_transport, "timeout": _us(s.stall_timeout_s)}
    return SourceSpec(uri, "rtsp", uri, live=True, options=opts)


def _http(uri: str, s: VideoSettings) -> SourceSpec:
    kind = "hls" if urlsplit(uri).path.lower().endswith(".m3u8") else "http"
    opts = {"rw_timeout": _us(s.stall_timeout_s)}
    return SourceSpec(uri, kind, uri, live=True, ends=True, options=opts)


def _udp(uri: str, s: VideoSettings) -> SourceSpec:
    opts = {"timeout": _us(s.stall_timeout_s), "overrun_nonfatal": "1", "fifo_size": "1000000"}
    return SourceSpec(uri, "udp", uri, live=True, format="mpegts", options=opts)


def _srt(uri: str, s: VideoSettings) -> SourceSpec:
    return SourceSpec(uri, "srt", uri, live=True, format="mpegts", options={})


_BUILDERS = {
    "rtsp": _rtsp,
    "rtsps": _rtsp,
    "http": _http,
    "https": _http,
    "udp": _udp,
    "srt": _srt,
}
