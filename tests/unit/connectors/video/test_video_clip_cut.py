"""Incident clips cut from real mid-GOP segments: a remux of the source's packets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from connectors.video.base import ClipError
from connectors.video.clip_cut import Clip, cut_clip
from connectors.video.clip_plan import ClipWindow
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from pipeline.scenes import scripted_scene, write_clip
from pipeline.types import Segment

FPS = 10


@dataclass(frozen=True)
class Recorded:
    path: Path
    segments: list[Segment]


def record(path: Path) -> Recorded:
    with open_source(str(path), "cam") as src:
        return Recorded(path, list(Segmenter.from_config("cam").run(src)))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """40 s of the scene generator (x264 with B-frames), a keyframe every 5 s: every
    2-s segment but the GOP's first is cut mid-GOP and repeats the GOP's prefix."""
    spec = scripted_scene(visible=[(12.0, 20.0)], duration=40.0, size=(320, 240), fps=FPS)
    clip = write_clip(spec, tmp_path_factory.mktemp("clips") / "scene.mp4", fps=FPS,
                      keyframe_interval_s=5.0)
    return record(clip)


def packets(path: Path | bytes) -> tuple[av.VideoStream, list[tuple[float, av.Packet]]]:
    """The video packets (decode order) with their times from the stream's start."""
    import io

    c = av.open(io.BytesIO(path) if isinstance(path, bytes) else str(path))
    s = c.streams.video[0]
    start = s.start_time or 0
    return s, [(float((p.pts - start) * s.time_base), p) for p in c.demux(s) if p.size]


def vcl(packet: av.Packet, codec: str) -> list[bytes]:
    """The picture NAL units of a length-prefixed (MP4) packet: what a remux keeps
    byte for byte (parameter sets and delimiters may be added around them)."""
    data, out, i = bytes(packet), [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        nal = data[i + 4 : i + 4 + n]
        kind = nal[0] & 0x1F if codec == "h264" else (nal[0] >> 1) & 0x3F
        if (1 <= kind <= 5) if codec == "h264" else kind < 32:
            out.append(nal)
        i += 4 + n
    return out


def frames(data: Path | bytes) -> list[np.ndarray]:
    import io

    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_the_clip_is_the_source_packets_from_the_keyframe_before_the_pre_roll(scene) -> None:
    clip = cut_clip(scene.segments, ClipWindow(12.0, 15.0, 5.0, 5.0))
    assert (clip.start, clip.event_at) == (5.0, pytest.approx(7.0))  # keyframe at 5 s <= 7 s
    src_stream, src = packets(scene.path)
    out_stream, out = packets(clip.data)
    ctx, got = src_stream.codec_context, out_stream.codec_context
    assert (got.name, got.width, got.height, got.profile, got.pix_fmt) == (
        ctx.name, ctx.width, ctx.height, ctx.profile, ctx.pix_fmt)
    assert bytes(got.extradata) == bytes(ctx.extradata)  # the same SPS/PPS: nothing re-encoded
    end = clip.start + clip.duration
    expected = [p for t, p in src if clip.start - 1e-3 <= t < end - 1e-3]
    assert clip.frames == len(out) == len(expected)
    assert [vcl(p, "h264") for _, p in out] == [vcl(p, "h264") for p in expected]
    assert out[0][1].is_keyframe and out[0][0] == 0.0
    dts = [p.dts for _, p in out]
    assert all(a < b for a, b in zip(dts, dts[1:], strict=False))
    assert 20.0 - 0.1 <= end <= 20.5  # up to the post-roll, a B-frame run at most beyond
    assert float(out_stream.duration * out_stream.time_base) == pytest.approx(clip.duration)


def test_repeated_gop_prefixes_are_dropped_and_a_lost_segment_is_bridged(scene) -> None:
    window = ClipWindow(12.0, 15.0, 5.0, 5.0)
    clip = cut_clip(scene.segments, window)
    covering = [s for s in scene.segments if s.end > 5.0 and s.start < 20.0]
    in_segments = sum(len(packets(_as_mp4(s))[1]) for s in covering)
    assert in_segments > clip.frames + 40  # the mid-GOP segments repeat 10-40 frames each
    _, src = packets(scene.path)
    _, out = packets(clip.data)
    times = sorted(round(5.0 + t, 3) for t, _ in out)  # each source frame exactly once
    assert times == sorted(round(t, 3) for t, _ in src if 5.0 <= t < 5.0 + clip.duration - 1e-3)
    lost = [s for s in scene.segments if s.start != 8.0]  # 8-10 s carried by the next one
    assert [vcl(p, "h264") for _, p in packets(cut_clip(lost, window).data)[1]] == [
        vcl(p, "h264") for _, p in out]


def _as_mp4(segment: Segment) -> bytes:
    """A segment's packets (prefix included) remuxed to MP4, to count them."""
    import io

    buf = io.BytesIO()
    with av.open(io.BytesIO(segment.data)) as src, av.open(buf, "w", format="mp4") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for p in src.demux(video=0):
            if p.size:
                p.stream = stream
                dst.mux(p)
    return buf.getvalue()


def test_the_clip_shows_the_same_pictures_as_the_source(scene) -> None:
    clip = cut_clip(scene.segments, ClipWindow(22.0, 24.0, 3.0, 3.0))
    first = round(clip.start * FPS)
    source = frames(scene.path)
    shown = frames(clip.data)
    assert len(shown) == clip.frames
    assert all((a == b).all() for a, b in zip(shown, source[first:], strict=False))


def test_a_long_incident_keeps_its_first_and_last_seconds_within_the_cap(scene) -> None:
    clip = cut_clip(scene.segments, ClipWindow(6.0, 34.0, 1.0, 1.0, max_seconds=16.0))
    assert clip.skipped is not None and clip.duration <= 16.0
    head_end, tail_start = clip.skipped
    assert clip.start == 5.0 and tail_start % 5.0 == 0.0  # both parts start at keyframes
    head = round((head_end - clip.start) * FPS)
    source, shown = frames(scene.path), frames(clip.data)
    expected = source[50 : 50 + head] + source[round(tail_start * FPS):][: len(shown) - head]
    assert len(shown) == clip.frames and round(tail_start * FPS) + len(shown) - head >= 350
    assert all((a == b).all() for a, b in zip(shown, expected, strict=True))
    out_stream, out = packets(clip.data)
    assert [round(t, 3) for t, _ in sorted(out, key=lambda x: x[0])] == [
        round(i / FPS, 3) for i in range(len(out))]  # continuous across the cut
    assert float(out_stream.duration * out_stream.time_base) == pytest.approx(clip.duration)


def test_segments_after_the_range_or_without_a_keyframe_before_it_give_a_clip_error(scene) -> None:
    with pytest.raises(ClipError):
        cut_clip([], ClipWindow(1.0, 2.0))
    with pytest.raises(ClipError):
        cut_clip([s for s in scene.segments if s.start >= 30.0], ClipWindow(10.0, 12.0, 0.0, 0.0))


@pytest.mark.parametrize("kind", ["hevc", "h264-audio"])
def test_other_codecs_are_remuxed_and_audio_is_dropped(kind: str, tmp_path: Path) -> None:
    from tests.services import camera_clips as cc

    if kind == "hevc":
        if not cc.has_encoder("libx265"):
            pytest.skip("this ffmpeg has no libx265 encoder")
        path = cc.hevc(tmp_path / "h.mp4", seconds=12.0, fps=12, gop_s=4.0)
    else:
        path = cc.h264(tmp_path / "a.mp4", seconds=12.0, gop_s=4.0, bframes=2, audio=True)
    rec = record(path)
    clip: Clip = cut_clip(rec.segments, ClipWindow(5.0, 7.0, 1.0, 1.0))
    codec = "hevc" if kind == "hevc" else "h264"
    with av.open(__import__("io").BytesIO(clip.data)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert c.streams.video[0].codec_context.name == clip.codec == codec
    _, src = packets(path)
    _, out = packets(clip.data)
    expected = [p for t, p in src if clip.start - 1e-3 <= t < clip.start + clip.duration - 1e-3]
    assert [vcl(p, codec) for _, p in out] == [vcl(p, codec) for p in expected]
