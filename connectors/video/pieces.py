"""Joining the pieces of one picture that an RTP depacketizer hands over apart."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import av


def pts_or_dts(packet: av.Packet) -> int | None:
    """The PTS, else the DTS (None when the packet has neither)."""
    return packet.pts if packet.pts is not None else packet.dts


def coalesce(packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
    """Join pieces of one access unit: RTP depacketizers may hand over a frame's
    parameter sets or slices as separate packets with the same timestamp (or, at the
    very start, with none). Muxed apart they would decode as two frames."""
    held: av.Packet | None = None
    stamped = False  # a timestamped packet has been seen
    for packet in packets:
        if held is not None and _same_unit(held, packet, leading=not stamped):
            held = _join(held, packet)
        else:
            if held is not None:
                yield held
            held = packet
        stamped = stamped or pts_or_dts(held) is not None
    if held is not None:
        yield held


def _same_unit(held: av.Packet, packet: av.Packet, *, leading: bool) -> bool:
    if pts_or_dts(held) is None:
        return leading
    return pts_or_dts(held) == pts_or_dts(packet)


def _join(a: av.Packet, b: av.Packet) -> av.Packet:
    codec = b.stream.codec_context.name if b.stream is not None else ""
    joined = av.Packet(bytes(a) + _drop_parameter_sets(bytes(b), codec))
    joined.pts, joined.dts = b.pts, b.dts
    joined.duration = max(a.duration or 0, b.duration or 0)
    joined.is_keyframe = bool(a.is_keyframe or b.is_keyframe)
    if b.stream is not None:
        joined.stream = b.stream  # sets the time base too
    if b.time_base is not None:
        joined.time_base = b.time_base
    return joined


_PARAMETER_SETS = {"h264": (frozenset({7, 8}), 0x1F, 0), "hevc": (frozenset({32, 33, 34}), 0x7E, 1)}


def _drop_parameter_sets(data: bytes, codec: str) -> bytes:
    """Remove SPS/PPS (VPS) NAL units from an Annex B piece that continues an access
    unit: repeated mid-frame (RTP payloaders do this) they would start a new frame."""
    if codec not in _PARAMETER_SETS or not data.startswith((b"\0\0\1", b"\0\0\0\1")):
        return data
    types, mask, shift = _PARAMETER_SETS[codec]
    units = [u for u in re.split(b"\0\0\0?\1", data) if u]
    kept = [u for u in units if (u[0] & mask) >> shift not in types]
    return b"".join(b"\0\0\0\1" + u for u in kept)
