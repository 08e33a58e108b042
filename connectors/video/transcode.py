"""Transcode mode: re-encode to H.264 with one keyframe per segment.

Used when asked for, and when the source codec cannot ride in MPEG-TS as it is
(raw V4L2 frames, MJPEG). Each segment gets its own encoder, so its first frame is
a keyframe and the keyframe interval equals the segment length.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from fractions import Fraction

import av
from av.video.frame import PictureType

from connectors.video.packets import TimedPacket
from pipeline.errors import ConfigError
from pipeline.types import Segment

log = logging.getLogger(__name__)

TB = Fraction(1, 90000)
REFUSED_SEGMENTS = 2
"""Packets the decoder refuses are left out one by one (as a player skips a corrupt
frame); refused this many segments' time in a row, with no frame between, the stream
is not decodable and that is the camera's error."""


@dataclass
class _Open:
    start: float
    buf: io.BytesIO
    out: av.container.OutputContainer
    stream: av.VideoStream
    last_t: float = 0.0
    last_pts: int = -1
    frames: int = field(default=0)


class Transcoder:
    """Packets of any decodable codec in, H.264 MPEG-TS segments out."""

    def __init__(self, camera: str, target: float = 2.0, *, start_seq: int = 0,
                 preset: str = "veryfast", crf: int = 23) -> None:
        if not target > 0:
            raise ConfigError("segment_seconds", target, "must be > 0")
        self.camera, self.target, self.next_seq = camera, target, start_seq
        self._opts = {"preset": preset, "crf": str(crf), "tune": "zerolatency"}
        self._decoder: av.CodecContext | None = None
        self._source_stream: av.VideoStream | None = None
        self._offset = 0.0
        self._fps = 25.0
        self._tb = TB
        self._cur: _Open | None = None
        self._refused: list[float] = []  # times of the packets refused since the last frame
        self._left_out = 0  # refused packets not yet reported

    def feed(self, tp: TimedPacket) -> list[Segment]:
        """Decode one packet; returns segments completed by the frames it gave. A packet
        the decoder refuses is left out, unless refused packets run on too long."""
        self._track_stream(tp)
        assert self._decoder is not None
        try:
            frames = self._decoder.decode(tp.packet)
        except av.error.FFmpegError:
            self._refused.append(tp.t)
            self._left_out += 1
            if tp.t - self._refused[0] >= REFUSED_SEGMENTS * self.target:
                raise  # nothing in this stream decodes: the camera's error, named by libav
            return []
        if frames:
            self._refused.clear()
        return [s for f in frames for s in self._encode(f)]

    def flush(self) -> list[Segment]:
        """Drain decoder and encoder (end of stream or before reconnecting)."""
        done: list[Segment] = []
        if self._decoder is not None:
            done = [s for f in self._decoder.decode(None) for s in self._encode(f)]
            self._decoder, self._source_stream = None, None
        self._refused.clear()  # a new connection starts its own count
        if self._cur is not None:
            done.append(self._close(self._cur.last_t + 1.0 / self._fps))
        return done

    def _track_stream(self, tp: TimedPacket) -> None:
        stream = tp.packet.stream
        if stream is not self._source_stream:
            self._source_stream = stream
            self._decoder = _decoder_for(stream.codec_context)
            rate = stream.average_rate or stream.guessed_rate
            self._fps = float(rate) if rate else 25.0
        self._tb = tp.packet.time_base or stream.time_base or TB
        if tp.packet.pts is not None:
            self._offset = tp.t - float(tp.packet.pts * self._tb)

    def _encode(self, frame: av.VideoFrame) -> list[Segment]:
        if frame.pts is None:
            return []
        t = self._offset + float(frame.pts * (frame.time_base or self._tb))
        done: list[Segment] = []
        if self._cur is not None and t - self._cur.start >= self.target - 1e-3:
            done.append(self._close(t))
        if self._cur is None:
            self._cur = self._start(t, frame)
        self._write(self._cur, frame, t)
        return done

    def _start(self, t: float, frame: av.VideoFrame) -> _Open:
        buf = io.BytesIO()
        out = av.open(buf, "w", format="mpegts")
        stream = out.add_stream("libx264", rate=round(self._fps) or 25)
        stream.width, stream.height = _even(frame.width), _even(frame.height)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = max(1, round(self.target * self._fps))
        stream.codec_context.options = dict(self._opts)
        stream.codec_context.time_base = TB
        return _Open(t, buf, out, stream, t)

    def _write(self, cur: _Open, frame: av.VideoFrame, t: float) -> None:
        img = frame.reformat(cur.stream.width, cur.stream.height, "yuv420p")
        img.pts, img.time_base = max(round((t - cur.start) / TB), cur.last_pts + 1), TB
        img.pict_type = PictureType.NONE  # an I-frame source must not force every keyframe
        cur.last_pts = img.pts
        cur.out.mux(cur.stream.encode(img))
        cur.last_t, cur.frames = t, cur.frames + 1

    def _close(self, end: float) -> Segment:
        cur, self._cur = self._cur, None
        assert cur is not None
        if self._left_out:
            log.warning("camera %s: segment %d: %d packets the decoder refused were left out",
                        self.camera, self.next_seq, self._left_out)
            self._left_out = 0
        cur.out.mux(cur.stream.encode(None))
        cur.out.close()
        seg = Segment(self.camera, self.next_seq, cur.start, max(end - cur.start, 0.0),
                      cur.buf.getvalue(), "mpegts", "h264", cur.stream.width, cur.stream.height)
        self.next_seq += 1
        return seg


def _decoder_for(source: av.CodecContext) -> av.CodecContext:
    """A decoder for the source stream's packets: the codec, its extradata and, for
    codecs whose packets do not say them (raw V4L2 frames, FFV1), the picture's size
    and pixel format."""
    decoder = av.CodecContext.create(source.name, "r")
    decoder.extradata = source.extradata
    if isinstance(source, av.VideoCodecContext) and isinstance(decoder, av.VideoCodecContext):
        decoder.width, decoder.height = source.width, source.height
        if source.pix_fmt:
            decoder.pix_fmt = source.pix_fmt
        decoder.codec_tag = source.codec_tag
    return decoder


def _even(side: int) -> int:
    """An H.264 (yuv420p) side: even, at least 2 (a 1-pixel side is stretched to 2)."""
    return max(2, side - side % 2)
