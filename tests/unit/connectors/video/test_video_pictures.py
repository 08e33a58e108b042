"""Decoded pictures: the RGB frame is what PyAV's ``to_ndarray`` gives, bit for bit, and the
thumbnail the decoder scales beside it has the size the engine's thumbnail has, shows the
same picture (upright when the source says rotate) and is what the engine keeps."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from connectors.video.decoder import decode_segment
from connectors.video.pixels import upright_pictures
from connectors.video.resilience import segments
from pipeline.engine import encode_frames
from pipeline.evidence import THUMB_SIDE, thumbnail
from pipeline.testing import ColourEncoder
from tests.services import camera_clips as cc

LUMA = np.array([0.299, 0.587, 0.114])


def close_to_engine_thumbnail(thumb: np.ndarray, rgb: np.ndarray) -> None:
    """Same size as the engine's own thumbnail of ``rgb``, and the same picture: brightness
    under 1 grey level apart on average (measured ~0.5 on ffmpeg's testsrc2; the same
    thumbnail shifted by one pixel is ~2.5 apart), colour under 3 (~2.3: the decoder
    scales the half-size chroma planes, the engine the RGB, so sharp colour edges differ)."""
    ref = thumbnail(rgb, THUMB_SIDE).astype(float)
    assert thumb.shape == ref.shape and thumb.dtype == np.uint8
    assert np.abs(thumb @ LUMA - ref @ LUMA).mean() < 1.0
    assert np.abs(thumb - ref).mean() < 3.0


def av_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as box:
        return list(box.decode(video=0))[::10]


@pytest.mark.parametrize("make", [cc.h264, cc.mjpeg_avi], ids=["h264", "mjpeg"])
def test_rgb_is_to_ndarray_bit_for_bit_and_the_thumbnail_is_the_engines(
    tmp_path: Path, make: object
) -> None:
    clip = make(tmp_path / "c.mkv", seconds=2.0, size=(640, 360))  # type: ignore[operator]
    for frame in av_frames(clip):
        rgb, thumb = upright_pictures(frame)
        assert np.array_equal(rgb, frame.to_ndarray(format="rgb24"))
        assert thumb is not None and thumb.shape == (189, 336, 3)
        close_to_engine_thumbnail(thumb, rgb)


def test_a_frame_no_larger_than_the_thumbnail_has_none(tmp_path: Path) -> None:
    frame = av_frames(cc.h264(tmp_path / "s.mp4", seconds=1.0, size=(320, 180)))[0]
    rgb, thumb = upright_pictures(frame)
    assert rgb.shape == (180, 320, 3) and thumb is None


@pytest.mark.parametrize("degrees", [90, 270])
def test_the_thumbnail_of_a_rotated_source_is_upright(tmp_path: Path, degrees: int) -> None:
    clip = cc.rotated(tmp_path / "r.mp4", degrees=degrees, seconds=2.0, size=(640, 360))
    frames = [f for s in segments(str(clip), "cam") for f in decode_segment(s, 1.0)]
    assert frames and {f.rgb.shape for f in frames} == {(640, 360, 3)}  # portrait
    for f in frames:
        assert f.thumb is not None and f.thumb.shape == (336, 189, 3)
        close_to_engine_thumbnail(f.thumb, f.rgb)


def test_the_engine_keeps_the_decoders_thumbnail_of_its_size_only(tmp_path: Path) -> None:
    clip = cc.h264(tmp_path / "c.mp4", seconds=2.0, size=(640, 360))
    frames = [f for s in segments(str(clip), "cam") for f in decode_segment(s, 1.0)]
    kept = encode_frames(ColourEncoder(), frames)
    assert all(e.thumb is f.thumb for e, f in zip(kept, frames, strict=True))
    small = encode_frames(ColourEncoder(), frames, thumb_side=64)
    for e, f in zip(small, frames, strict=True):  # another size: shrunk from the RGB
        assert np.array_equal(e.thumb, thumbnail(f.rgb, 64))
