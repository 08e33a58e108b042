"""Sampling: which frames at which times, the keyframe-only path, decode errors."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.video.decoder import DecodeStats, decode_segment, plan_for
from connectors.video.sampling import SampleClock, keyframes_suffice
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from connectors.video.testing import make_clip
from pipeline.errors import ConfigError, DecodeError

FRAMES_25 = [i / 25 for i in range(100)]  # 4 s at 25 fps


def kept_times(fps: float, times: list[float], prev: float | None = None) -> list[float]:
    return [round(times[i], 2) for i in SampleClock(fps).select(times, prev)]


def test_one_fps_keeps_the_first_frame_of_every_second() -> None:
    assert kept_times(1.0, FRAMES_25) == [0.0, 1.0, 2.0, 3.0]


def test_two_fps_keeps_the_first_frame_in_each_half_second_cell() -> None:
    assert kept_times(2.0, FRAMES_25) == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52, 3.0, 3.52]


def test_fps_above_the_video_rate_keeps_every_frame() -> None:
    assert kept_times(50.0, FRAMES_25) == [round(t, 2) for t in FRAMES_25]


def test_grid_is_absolute_so_split_segments_never_double_sample() -> None:
    whole = kept_times(0.3, FRAMES_25 + [4 + i / 25 for i in range(100)])
    parts, prev = [], None
    for lo in range(0, 200, 50):  # four 2 s segments, each sampled on its own
        chunk = [i / 25 for i in range(lo, lo + 50)]
        parts += kept_times(0.3, chunk, prev)
        prev = chunk[-1]
    assert parts == whole == [0.0, 3.36, 6.68]


def test_bad_fps_names_the_field() -> None:
    for bad in (0, -1, float("nan")):
        with pytest.raises(ConfigError, match="sample_fps"):
            SampleClock(bad)


def test_keyframes_suffice_when_the_sampling_interval_covers_the_gop() -> None:
    assert keyframes_suffice([0.0, 1.0], end=2.0, fps=1.0)
    assert not keyframes_suffice([0.0, 1.0], end=2.0, fps=2.0)
    assert not keyframes_suffice([0.0], end=2.0, fps=1.0)
    assert keyframes_suffice([0.0], end=2.0, fps=0.5)
    assert not keyframes_suffice([], end=2.0, fps=0.1)


@pytest.fixture(scope="module")
def segs_1s(tmp_path_factory: pytest.TempPathFactory):
    """4 s at 25 fps, keyframe every 1 s, B-frames: two 2 s segments."""
    clip = make_clip(tmp_path_factory.mktemp("s1") / "c.mp4", seconds=4.0,
                     keyframe_interval_s=1.0, bframes=2)
    with open_source(str(clip), "cam") as src:
        return list(Segmenter.from_config("cam").run(src))


@pytest.fixture(scope="module")
def segs_2s(tmp_path_factory: pytest.TempPathFactory):
    clip = make_clip(tmp_path_factory.mktemp("s2") / "c.mp4", seconds=4.0,
                     keyframe_interval_s=2.0)
    with open_source(str(clip), "cam") as src:
        return list(Segmenter.from_config("cam").run(src))


def frames_of(segs, fps, **kw):
    return [f for s in segs for f in decode_segment(s, fps, **kw)]


def test_keyframe_only_path_when_one_second_covers_the_keyframe_interval(segs_1s) -> None:
    assert [plan_for(s, 1.0) for s in segs_1s] == ["keyframes", "keyframes"]
    frames = frames_of(segs_1s, 1.0)
    assert [round(f.t, 3) for f in frames] == [0.0, 1.0, 2.0, 3.0]
    assert all(f.keyframe for f in frames)
    assert frames[0].rgb.shape == (240, 320, 3) and frames[0].rgb.dtype.name == "uint8"
    assert [(f.camera, f.seq) for f in frames] == [("cam", 0), ("cam", 0), ("cam", 1), ("cam", 1)]


def test_minimal_runs_when_sampling_faster_than_keyframes(segs_1s, segs_2s) -> None:
    assert plan_for(segs_1s[0], 2.0) == "runs"
    frames = frames_of(segs_1s, 2.0)
    assert [round(f.t, 2) for f in frames] == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52, 3.0, 3.52]
    assert not all(f.keyframe for f in frames)
    assert plan_for(segs_2s[0], 1.0) == "runs"
    assert [round(f.t, 2) for f in frames_of(segs_2s, 1.0)] == [0.0, 1.0, 2.0, 3.0]


def test_runs_decode_only_up_to_the_last_sampled_frame_of_each_gop(segs_2s) -> None:
    runs, full = DecodeStats(), DecodeStats()
    fast = frames_of(segs_2s, 1.0, stats=runs)
    slow = frames_of(segs_2s, 1.0, keyframes_only=False, stats=full)
    assert [f.t for f in fast] == [f.t for f in slow]
    assert all((a.rgb == b.rgb).all() for a, b in zip(fast, slow, strict=True))
    # 2-s GOPs at 25 fps sampled at 1 fps: frames 0..25 of each GOP, not all 50
    assert (runs.decoded, full.decoded) == (2 * 26, 100)
    assert runs.per_sample == 13.0 and full.per_sample == 25.0


def test_both_paths_give_the_same_frames_when_keyframes_suffice(segs_1s) -> None:
    fast = frames_of(segs_1s, 1.0, keyframes_only=True)
    slow = frames_of(segs_1s, 1.0, keyframes_only=False)
    assert [f.t for f in fast] == [f.t for f in slow]
    for a, b in zip(fast, slow, strict=True):
        assert (a.rgb == b.rgb).all()


def test_frame_times_are_segment_start_plus_offset(segs_1s) -> None:
    live = dataclasses.replace(segs_1s[1], start=1_700_000_000.0)
    assert [f.t for f in decode_segment(live, 1.0)] == [1_700_000_000.0, 1_700_000_001.0]


def test_sparse_sampling_spans_segments_without_repeats(segs_1s) -> None:
    # 0.3 fps: cells [0, 3.33) and [3.33, 6.67); segment 1 (2-4 s) starts inside cell 0
    assert [len(decode_segment(s, 0.3)) for s in segs_1s] == [1, 0]  # cell 0 sampled once
    drop = frames_of(segs_1s, 0.3, keyframes_only=False)
    assert [round(f.t, 2) for f in drop] == [0.0, 3.36]
    fast = frames_of(segs_1s, 0.3, keyframes_only=True)
    assert [round(f.t, 2) for f in fast] == [0.0]  # no keyframe in [3.33, 4)


def test_garbage_or_truncated_segment_raises_decode_error_naming_camera_and_seq(segs_1s) -> None:
    garbage = dataclasses.replace(segs_1s[0], data=b"\x47" + bytes(range(256)) * 40, seq=42)
    with pytest.raises(DecodeError, match=r"camera 'cam' segment 42") as info:
        decode_segment(garbage)
    assert (info.value.camera, info.value.seq) == ("cam", 42)
    truncated = dataclasses.replace(segs_1s[0], data=segs_1s[0].data[:300], seq=43)
    with pytest.raises(DecodeError, match="segment 43"):
        decode_segment(truncated)


@pytest.mark.parametrize("seq", [0, 1])
def test_a_streams_first_segment_keeps_its_first_frame_mid_cell(segs_1s, seq: int) -> None:
    # a live stream starting at 101.3 on a 2-s grid (0.5 fps): the cell [100, 102) and
    # a window [101.3, 102) hold frames; only a later segment (seq 1) finds that cell
    # taken. The same at 2 fps from 100.3: the cell [100.0, 100.5)
    for start, fps, plans in ((101.3, 0.5, (True, False)), (100.3, 2.0, (None, False))):
        seg = dataclasses.replace(segs_1s[0], start=start, seq=seq)
        clock = SampleClock(fps)
        for plan in plans:
            first = decode_segment(seg, fps, keyframes_only=plan, carry=False)[0].t
            if seq == 0:
                assert first == pytest.approx(start), (fps, plan)
            else:
                assert clock.cell(first) == clock.cell(start) + 1, (fps, plan)
