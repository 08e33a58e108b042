"""Which kind of source a URI names, and how FFmpeg should open it (pure logic)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError

V4L2_OPTIONS = frozenset({"video_size", "framerate", "input_format", "pixel_format"})
CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""The camera naming rule: camera ids end up in file names, Kafka keys and URLs."""
CAMERA_ID_RULE = "1-64 of A-Z a-z 0-9 . _ - (starting alphanumeric)"
_CAMERA_ID = re.compile(CAMERA_ID)


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
        raise ConfigError("camera", camera, f"use {CAMERA_ID_RULE}")
    return camera


MAX_URI = 4096
"""Characters of a camera path or URL."""


def parse_uri(uri: str, settings: VideoSettings) -> SourceSpec:
    """Classify ``uri``; a bad scheme or a missing file is a ``ConfigError``."""
    if not uri or not uri.strip():
        raise ConfigError("uri", uri, f"give {ALLOWED}")
    if len(uri) > MAX_URI:
        raise ConfigError("uri", uri[:60] + "…", f"at most {MAX_URI} characters")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an IPv6 host without its closing bracket
        raise ConfigError("uri", uri, f"a well-formed path or URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        if parts.path.startswith("/dev/video"):
            return _device(parts.path, parts.query)
        return _local(parts.path if scheme == "file" else uri)
    builder = _BUILDERS.get(scheme)
    if builder is None:
        raise ConfigError("uri", uri, f"unsupported scheme {scheme!r}; give {ALLOWED}")
    check_network_uri(uri, "uri")  # a host, a port 1-65535: as the API checks a source
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
    try:
        found = Path(path).is_file()
    except OSError as exc:  # a name too long for the file system
        raise ConfigError("uri", path[:60] + "…", f"a path this system can open ({exc.strerror})"
                          ) from None
    if not found:
        where = Path(path)
        what = ("a directory" if where.is_dir() else
                "not a regular file (a pipe, socket or device)" if where.exists() else
                "no such file")
        raise ConfigError("uri", path, f"{what} (give an existing video file or a URL)")
    return SourceSpec(path, "file", path, live=False, ends=True)


def _us(seconds: float) -> str:
    return str(int(seconds * 1_000_000))


def _rtsp(uri: str, s: VideoSettings) -> SourceSpec:
    opts = {"rtsp_transport": s.rtsp_transport, "timeout": _us(s.stall_timeout_s)}
    return SourceSpec(uri, "rtsp", uri, live=True, options=opts)


def _http(uri: str, s: VideoSettings) -> SourceSpec:
    kind = "hls" if urlsplit(uri).path.lower().endswith(".m3u8") else "http"
    opts = {"rw_timeout": _us(s.stall_timeout_s)}
    if kind == "hls":  # a live playlist from its newest segment, not three back: a backlog
        opts["live_start_index"] = "-1"  # read at download speed would run ahead of the clock
    return SourceSpec(uri, kind, uri, live=True, ends=True, options=opts)


def _udp(uri: str, s: VideoSettings) -> SourceSpec:
    opts = {"timeout": _us(s.stall_timeout_s), "overrun_nonfatal": "1", "fifo_size": "1000000"}
    return SourceSpec(uri, "udp", uri, live=True, format="mpegts", options=opts)


def _srt(uri: str, s: VideoSettings) -> SourceSpec:
    return SourceSpec(uri, "srt", uri, live=True, format="mpegts", options={})


@dataclass(frozen=True)
class Scheme:
    """One kind of camera URI: what opens it and what it is."""

    name: str  # the URI scheme ("" for a path: a file, or a /dev/video* device)
    label: str  # how help texts name it
    is_network: bool  # served by another machine: what an API client may register
    build: Callable[[str, VideoSettings], SourceSpec] | None = None


SCHEMES: tuple[Scheme, ...] = (
    Scheme("", "a file path", is_network=False),
    Scheme("rtsp", "rtsp://", is_network=True, build=_rtsp),
    Scheme("rtsps", "rtsps://", is_network=True, build=_rtsp),
    Scheme("http", "http://", is_network=True, build=_http),
    Scheme("https", "https:// (incl. HLS .m3u8)", is_network=True, build=_http),
    Scheme("udp", "udp://", is_network=True, build=_udp),
    Scheme("srt", "srt://", is_network=True, build=_srt),
    Scheme("", "/dev/video*", is_network=False),
)
"""Every source a camera can be, in the order help texts list them: the one table the
CLI, the API and their help read (``docker/cameras.py``, stdlib-only, keeps a copy of
the network schemes that a test keeps equal)."""
_BUILDERS = {s.name: s.build for s in SCHEMES if s.build is not None}
NETWORK_SCHEMES: tuple[str, ...] = tuple(s.name for s in SCHEMES if s.is_network)
ALLOWED = ", ".join(s.label for s in SCHEMES[:-1]) + " or " + SCHEMES[-1].label
"""The sources, for messages and help."""


def network_source_pattern() -> str:
    """A regular expression for an empty string or a complete network URI (what
    :func:`check_network_uri` takes): scheme (any case, by character classes: JSON
    Schema patterns take no flags; ``rtsps?`` for rtsp+rtsps), optional user info, a
    host name or an IPv6 literal in brackets, a port 1-65535, then printable ASCII."""
    names = [n for n in NETWORK_SCHEMES if not (n.endswith("s") and n[:-1] in NETWORK_SCHEMES)]
    alts = [_any_case(n) + ("[sS]?" if n + "s" in NETWORK_SCHEMES else "") for n in names]
    return f"^$|^(?:{'|'.join(alts)})://{_USERINFO}{_HOST}(?::{_PORT})?{_REST}$"


def check_network_uri(uri: str, field: str = "source") -> str:
    """``uri`` parsed completely as a network camera URI; ConfigError naming the field
    and what a URI must be otherwise (never a URI that fails to parse later)."""
    shown = uri if len(uri) <= 80 else uri[:79] + "…"
    if not uri or not re.fullmatch(network_source_pattern(), uri):
        raise ConfigError(field, shown, f"a network URI: {URI_RULE}")
    try:
        urlsplit(uri).port  # noqa: B018 - parsing it is the check
    except ValueError as exc:
        raise ConfigError(field, shown, f"a network URI ({exc})") from None
    return uri


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in text)


_H16 = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join((
    f"(?:{_H16}:){{7}}{_H16}", f"(?:{_H16}:){{1,7}}:", f"(?:{_H16}:){{1,6}}:{_H16}",
    f"(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}", f"(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}",
    f"(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}", f"(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}",
    f"{_H16}:(?::{_H16}){{1,6}}", f":(?:(?::{_H16}){{1,7}}|:)",
))
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[(?:{_IPV6})\])"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_USER = "[A-Za-z0-9._~!$&'()*+,;=%-]"
_USERINFO = f"(?:{_USER}*(?::{_USER}*)?@)?"
_REST = "(?:[/?#][!-~]*)?"
URI_RULE = ("scheme://[user[:password]@]host[:port][/path], a host name or an IPv6 address "
            "in brackets, port 1-65535, printable ASCII")


def is_local(uri: str) -> bool:
    """A file or a device of this machine (not served by another one)."""
    return urlsplit(uri).scheme.lower() not in NETWORK_SCHEMES


def is_camera(uri: str) -> bool:
    """A live source (network or device), not a file: a run on one is a service."""
    return not is_local(uri) or uri.startswith("/dev/")


def file_duration(uri: str) -> float | None:
    """Length of a local video file in seconds (for a progress bar); None if unknown."""
    import av

    try:
        with av.open(uri) as container:
            return None if container.duration is None else container.duration / 1_000_000
    except (av.error.FFmpegError, OSError):
        return None
