"""Opening cameras with PyAV: files (optionally paced), RTSP, HTTP/HLS, UDP/SRT, V4L2."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from fractions import Fraction

import av
import av.error

from connectors.video.base import SourceUnreachable, StreamEnded, StreamStalled, VideoSource
from connectors.video.packets import StreamInfo, TimedPacket, Timeline, packet_seconds
from connectors.video.pieces import coalesce, pts_or_dts
from connectors.video.settings import VideoSettings, check_settings
from connectors.video.uri import SourceSpec, check_camera, parse_uri
from pipeline.errors import ConfigError, SourceError

log = logging.getLogger(__name__)
MAX_JUMP_S = 10.0
LIVE_LEAD_S = 1.0
"""How far a live camera's stream time may run ahead of the wall clock. Packets that
come faster than real time (an HLS backlog, a burst, two senders on one UDP port) are
held until they are within this of the wall clock, so no window comes due early."""
UNTIMED_FORMATS = frozenset({"mpjpeg", "mjpeg", "jpeg_pipe", "image2pipe"})
"""Formats whose packets carry no real timestamps (MJPEG over HTTP multipart): a live
source in one of them is stamped with the arrival time of each frame."""
PIECEWISE_FORMATS = frozenset({"rtsp", "rtp", "sdp"})
"""RTP depacketizers, which may hand one picture over in pieces (:func:`coalesce`). A
container's demuxer, or a raw stream's parser, hands over whole pictures, timestamped or
not (those untimed are stamped one frame interval apart): an MKV whose first
seconds lost their timestamps (negative ones dropped by the muxer) had them all joined
into one picture."""


def open_source(
    uri: str,
    camera: str,
    *,
    realtime: bool = False,
    settings: VideoSettings | None = None,
    not_before: float | None = None,
) -> VideoSource:
    """Open ``uri`` as camera ``camera``; ``realtime`` paces a file like a live feed.

    Live times are ``anchor + (pts - first_pts) · time_base`` with the anchor the wall
    clock when the connection was opened: FFmpeg receives the first packet right
    after PLAY/connect and buffers seconds of packets while probing inside ``open``,
    so the wall clock at the first *demuxed* packet would run seconds late.

    A bad URI or a missing file raises ``ConfigError``; a source that cannot be opened
    raises ``SourceError`` with a one-line message. ``not_before`` (live sources) keeps
    the time anchor at or after that instant, e.g. the end of the last segment.
    """
    s = check_settings(settings or VideoSettings())
    spec = parse_uri(uri, s)
    return PyAVSource.from_config(
        spec, check_camera(camera), realtime=realtime, settings=s, not_before=not_before)


_TRANSIENT = (av.error.ExitError, av.error.HTTPServerError, ConnectionError, TimeoutError)


def _fail(camera: str, spec: SourceSpec, exc: Exception, doing: str = "cannot open") -> SourceError:
    """A one-line error; transient causes become ``SourceUnreachable`` (retried)."""
    if isinstance(exc, av.error.ExitError):
        why = "timed out"
    elif isinstance(exc, av.error.InvalidDataError) and spec.live:
        why = "no readable video came (the server stalled, or sent no video it can read)"
    elif isinstance(exc, av.error.InvalidDataError):
        why = "not a readable video (corrupt or truncated?)"
    else:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    # an RTSP server that does not answer in time reads as invalid data to the RTSP
    # demuxer (a wrong path is a 404, refused at once): worth retrying like a timeout
    stalled = spec.kind == "rtsp" and isinstance(exc, av.error.InvalidDataError)
    kind = SourceUnreachable if isinstance(exc, _TRANSIENT) or stalled else SourceError
    return kind(f"camera {camera!r}: {doing} {spec.uri}: {why}")


def _open_container(spec: SourceSpec, camera: str, s: VideoSettings) -> av.container.InputContainer:
    timeout = (s.open_timeout_s, s.stall_timeout_s) if spec.live else None
    try:
        return av.open(spec.url, "r", format=spec.format, options=dict(spec.options),
                       timeout=timeout)
    except av.error.ProtocolNotFoundError as exc:
        raise ConfigError("uri", spec.uri, f"this FFmpeg build cannot read {spec.kind}:// "
                          "streams") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(camera, spec, exc) from exc


def _video_stream(
    container: av.container.InputContainer, camera: str, spec: SourceSpec
) -> av.VideoStream:
    if not container.streams.video:
        container.close()
        raise SourceError(f"camera {camera!r}: {spec.uri} has no video stream")
    return container.streams.video[0]


def stream_info(stream: av.VideoStream) -> StreamInfo:
    rate = stream.average_rate or stream.guessed_rate or 0
    return StreamInfo(
        codec=stream.codec_context.name,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        fps=float(rate),
        time_base=stream.time_base or Fraction(1, 90000),
    )


def plays_as_file(spec: SourceSpec, container: av.container.InputContainer) -> bool:
    """A file, or a network source that says how long it is (an HLS VOD playlist, an
    MP4 over HTTP): it is read as a file is, at file speed unless paced (``realtime``)."""
    return not spec.live or (spec.ends and container.duration is not None)


def _timeline(spec: SourceSpec, stream: av.VideoStream, *, as_file: bool, realtime: bool,
              opened_at: float, not_before: float | None, camera: str) -> Timeline:
    tb = stream.time_base or Fraction(1, 90000)
    if not as_file:
        anchor = opened_at if not_before is None else max(opened_at, not_before)
        return Timeline(tb, anchor=anchor, max_jump=MAX_JUMP_S, not_before=not_before,
                        camera=camera)
    anchor = time.time() if realtime else 0.0
    return Timeline(tb, anchor=anchor, origin_pts=stream.start_time, max_jump=MAX_JUMP_S,
                    camera=camera)


class PyAVSource(VideoSource):
    """Any FFmpeg-readable input; one instance is one connection (no reconnecting)."""

    def __init__(
        self,
        camera: str,
        container: av.container.InputContainer,
        stream: av.VideoStream,
        spec: SourceSpec,
        timeline: Timeline,
        *,
        pace: bool = False,
        lead_s: float | None = None,
        stall_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``pace``: release a file's packets at their times (``realtime``); ``lead_s``:
        hold a live camera's packets until they are at most that far ahead of the wall
        clock; ``stall_s``: a read that waited that long is a stall even when it returned
        a packet (the one FFmpeg's parser held back, handed over when the read gave up)."""
        self.camera = camera
        self.live = lead_s is not None or pace
        self.spec = spec
        self._container = container
        self._stream = stream
        self._timeline = timeline
        self._pace, self._lead_s, self._stall_s = pace, lead_s, stall_s
        self._sleep, self._now, self._monotonic = sleep, now, monotonic
        self._held = False  # the hold has been logged (once per connection)
        self._info = stream_info(stream)
        self._arrival = spec.live and container.format.name in UNTIMED_FORMATS
        self._pieces = container.format.name in PIECEWISE_FORMATS
        # a live HLS playlist (no ENDLIST: no duration) that stops growing is a stall to
        # reconnect through, not the end of the camera; a VOD playlist ends as a file does
        self._ends = spec.ends and not (spec.kind == "hls" and container.duration is None)
        self._last_t: float | None = timeline.not_before

    @classmethod
    def from_config(
        cls, spec: SourceSpec, camera: str, *, realtime: bool, settings: VideoSettings,
        not_before: float | None = None,
    ) -> PyAVSource:
        opened_at = time.time()
        container = _open_container(spec, camera, settings)
        stream = _video_stream(container, camera, spec)
        as_file = plays_as_file(spec, container)
        timeline = _timeline(spec, stream, as_file=as_file, realtime=realtime,
                             opened_at=opened_at, not_before=not_before, camera=camera)
        log.info("camera %s: opened %s (%s%s)", camera, spec.uri, stream.codec_context.name,
                 ", read as a file" if as_file and spec.live else "")
        return cls(camera, container, stream, spec, timeline, pace=realtime and as_file,
                   lead_s=None if as_file else LIVE_LEAD_S,
                   stall_s=settings.stall_timeout_s if spec.live else None)

    @property
    def info(self) -> StreamInfo:
        return self._info

    @property
    def stream(self) -> av.VideoStream:
        return self._stream

    def __iter__(self) -> Iterator[TimedPacket]:
        read = self._read()
        for packet in coalesce(read) if self._pieces else read:
            yield self._timed(packet)

    def _read(self) -> Iterator[av.Packet]:
        demuxed = self._container.demux(self._stream)
        while True:
            asked = self._monotonic()
            packet = self._next(demuxed)
            if packet is None:
                return
            waited = self._monotonic() - asked
            if packet.size:
                yield packet
            if self._stall_s is not None and waited >= self._stall_s:
                raise StreamStalled(f"camera {self.camera!r}: no data from {self.spec.uri} "
                                    f"for {waited:.1f} s")

    def _next(self, demuxed: Iterator[av.Packet]) -> av.Packet | None:
        try:
            return next(demuxed)
        except StopIteration:
            if self._ends:
                return None
            msg = f"camera {self.camera!r}: {self.spec.uri} closed the stream"
            raise StreamEnded(msg) from None
        except av.error.ExitError as exc:
            raise StreamStalled(f"camera {self.camera!r}: no data from {self.spec.uri}") from exc
        except (av.error.FFmpegError, OSError) as exc:
            raise _fail(self.camera, self.spec, exc, "read failed on") from exc

    def _timed(self, packet: av.Packet) -> TimedPacket:
        duration = packet_seconds(packet, self._info.time_base)
        if self._arrival:
            return self._arrived(packet, duration)
        stamp = pts_or_dts(packet)
        if stamp is None and not duration and self._info.fps > 0:
            duration = 1.0 / self._info.fps  # untimed frames: one frame interval apart
        t = self._timeline.at(stamp, duration, packet.dts)
        if self._pace:
            self._wait_until(t)
        elif self._lead_s is not None:
            self._hold(t, self._lead_s)
        return TimedPacket(packet, t, bool(packet.is_keyframe), duration, packet.size)

    def _arrived(self, packet: av.Packet, duration: float) -> TimedPacket:
        """Stamp an untimed live frame with the wall clock (always increasing)."""
        t = self._now()
        if self._last_t is not None and t <= self._last_t:
            t = self._last_t + 1e-3
        self._last_t = t
        return TimedPacket(packet, t, bool(packet.is_keyframe), duration, packet.size)

    def _wait_until(self, t: float) -> None:
        delay = t - self._now()
        if delay > 0:
            self._sleep(delay)

    def _hold(self, t: float, lead_s: float) -> None:
        """Keep a live camera's time within ``lead_s`` of the wall clock."""
        ahead = t - self._now()
        if ahead <= lead_s:
            return
        if not self._held:
            self._held = True
            log.info("camera %s: the stream runs %.1f s ahead of the wall clock (a backlog, "
                     "or faster than real time): its packets are held to within %.1f s",
                     self.camera, ahead, lead_s)
        self._sleep(ahead - lead_s)

    def close(self) -> None:
        self._container.close()
