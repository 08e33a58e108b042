"""A camera's decoder carried from one mid-GOP segment to the next: same frames, less work."""

from __future__ import annotations

import pytest

from connectors.video.carry import CACHE
from connectors.video.decoder import DecodeStats, decode_segment
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from connectors.video.testing import make_clip


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory):
    """10 s at 25 fps with one keyframe: five 2-s segments, four carrying a prefix."""
    clip = make_clip(tmp_path_factory.mktemp("carry") / "c.mp4", seconds=10.0, fps=25,
                     keyframe_interval_s=10.0)
    with open_source(str(clip), "cam") as src:
        return list(Segmenter.from_config("cam").run(src))


def decode_all(segs, carry: bool):  # type: ignore[no-untyped-def]
    CACHE.clear()
    stats = DecodeStats()
    frames = [f for s in segs for f in decode_segment(s, 1.0, stats=stats, carry=carry)]
    return frames, stats


def test_carried_decoder_gives_the_same_frames_for_a_third_of_the_work(long_gop) -> None:
    assert [round(s.lead, 2) for s in long_gop] == [0.0, 2.0, 4.0, 6.0, 8.0]
    alone, fresh = decode_all(long_gop, carry=False)
    kept, carried = decode_all(long_gop, carry=True)
    assert [f.t for f in kept] == [f.t for f in alone] == [float(t) for t in range(10)]
    assert all((a.rgb == b.rgb).all() for a, b in zip(kept, alone, strict=True))
    # alone: 26 + (50 + 26) + (100 + 26) + (150 + 26) + (200 + 26); carried: each of the
    # 250 frames once (the GOP outlasts every segment, so each decoder is kept)
    assert (fresh.decoded, carried.decoded) == (630, 250)


def test_out_of_order_or_repeated_segments_fall_back_to_their_prefix(long_gop) -> None:
    CACHE.clear()
    order = [long_gop[i] for i in (1, 3, 2, 2, 4)]
    got = [[f.t for f in decode_segment(s, 1.0)] for s in order]
    assert got == [[2.0, 3.0], [6.0, 7.0], [4.0, 5.0], [4.0, 5.0], [8.0, 9.0]]


@pytest.mark.parametrize("kind", ["h264-bframes", "hevc"])
def test_reordered_streams_give_the_same_frames_carried_or_not(kind, tmp_path) -> None:
    from tests.services import camera_clips as cc

    if kind == "hevc":
        if not cc.has_encoder("libx265"):
            pytest.skip("this ffmpeg has no libx265 encoder")
        clip = cc.hevc(tmp_path / "h.mp4", seconds=10.0, fps=12, gop_s=10.0)
    else:
        clip = cc.h264(tmp_path / "b.mp4", seconds=10.0, gop_s=10.0, bframes=3)
    with open_source(str(clip), "cam") as src:
        segs = list(Segmenter.from_config("cam").run(src))
    alone, fresh = decode_all(segs, carry=False)
    kept, carried = decode_all(segs, carry=True)
    assert [f.t for f in kept] == [f.t for f in alone]
    assert [int(f.t + 1e-6) for f in kept] == list(range(10))
    assert all((a.rgb == b.rgb).all() for a, b in zip(kept, alone, strict=True))
    if kind == "h264-bframes":
        assert carried.decoded < fresh.decoded * 0.7
    # HEVC here reorders deeper than the frame a segment ends on: the sampled frame is
    # still inside the decoder at the segment's end, so it is drained (nothing carried)
