"""Which frames an incident clip keeps (pure planning on frame times and keyframes)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.video.base import ClipError
from connectors.video.clip_plan import ClipWindow, dedupe, plan
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class F:
    t: float
    keyframe: bool = False


def stream(seconds: float, kf_every: float, fps: int = 10) -> list[F]:
    gop = round(kf_every * fps)
    return [F(round(i / fps, 6), i % gop == 0) for i in range(round(seconds * fps))]


def segments(frames: list[F], every: float = 2.0) -> list[list[F]]:
    """Mid-GOP segments: each carries the frames since its GOP's keyframe."""
    out: list[list[F]] = []
    for k in range(int(frames[-1].t // every) + 1):
        own = [f for f in frames if k * every <= f.t < (k + 1) * every]
        key = max(f.t for f in frames if f.keyframe and f.t <= own[0].t)
        out.append([f for f in frames if key <= f.t < own[0].t] + own)
    return out


def test_repeated_prefixes_are_kept_once_and_bridge_a_missing_segment() -> None:
    frames = stream(20, 5.0)
    segs = segments(frames)
    assert sum(map(len, segs)) > len(frames)  # the prefixes repeat frames
    assert dedupe(segs) == frames
    del segs[3]  # 6-8 s lost; the 8-10 s segment carries 5-8 s as its prefix
    assert dedupe(segs) == frames


def test_starts_at_the_keyframe_at_or_before_the_pre_roll_and_ends_after_the_post_roll() -> None:
    p = plan(dedupe(segments(stream(30, 5.0))), ClipWindow(12.0, 14.0, 2.0, 3.0))
    assert p.origin == 10.0 and p.units[0].keyframe
    assert p.units[-1].t == pytest.approx(16.9) and p.duration == pytest.approx(7.0)
    assert p.times == pytest.approx([u.t - 10.0 for u in p.units])
    assert p.skipped is None
    exact = plan(stream(30, 5.0), ClipWindow(17.0, 18.0, 2.0, 0.0))
    assert exact.origin == 15.0  # a keyframe exactly at the pre-roll is the start


def test_a_recording_that_begins_after_the_pre_roll_starts_at_its_first_keyframe() -> None:
    late = [f for f in stream(30, 5.0) if f.t >= 9.0]  # 9.0-9.9 cannot be decoded
    p = plan(late, ClipWindow(11.0, 12.0))
    assert p.origin == 10.0 and p.units[0].keyframe


def test_no_keyframe_before_the_end_is_a_clip_error() -> None:
    with pytest.raises(ClipError):
        plan([f for f in stream(30, 10.0) if 1.0 <= f.t < 9.0], ClipWindow(3.0, 4.0))
    with pytest.raises(ConfigError, match="clip.end"):
        ClipWindow(5.0, 4.0)


def test_a_long_incident_keeps_a_head_and_a_tail_each_from_a_keyframe_within_the_cap() -> None:
    frames = stream(200, 4.0)
    p = plan(frames, ClipWindow(10.0, 150.0, 5.0, 5.0, max_seconds=60.0))
    head = [u for u in p.units if u.t < p.skipped[0]]  # type: ignore[index]
    tail = p.units[len(head):]
    assert head[0].keyframe and tail[0].keyframe
    assert head[0].t == 4.0 and tail[-1].t == pytest.approx(154.9)
    assert 28.0 <= tail[-1].t + 0.1 - tail[0].t <= 32.0  # the last ~30 s
    assert p.duration <= 60.0 + 1e-6 and p.duration > 58.0
    assert all(b - a == pytest.approx(0.1) for a, b in zip(p.times, p.times[1:], strict=False))


def test_a_gop_as_long_as_the_cap_leaves_the_head_alone() -> None:
    p = plan(stream(100, 50.0), ClipWindow(5.0, 90.0, 0.0, 0.0, max_seconds=20.0))
    assert p.units[0].t == 0.0 and p.duration == pytest.approx(20.0)
    assert p.skipped == pytest.approx((20.0, 90.0))


def test_b_frames_pull_in_their_reference_so_the_end_has_no_hole() -> None:
    # decode order I0 P3 B1 B2 P6 B4 B5 P9 B7 B8 (times in frames of 0.1 s)
    order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8]
    units = [F(i / 10, i == 0) for i in order]
    p = plan(units, ClipWindow(0.0, 0.0, 0.0, 0.45))
    assert sorted(round(u.t * 10) for u in p.units) == [0, 1, 2, 3, 4, 5, 6]


def test_leading_pictures_of_an_open_gop_are_dropped_at_the_start() -> None:
    # decode order: I10 (keyframe) then B8 B9 shown before it (they reference the GOP before)
    units = [F(1.0, True), F(0.8), F(0.9), F(1.1), F(1.2)]
    assert [u.t for u in plan(units, ClipWindow(1.0, 1.1, 0.0, 0.05)).units] == [1.0, 1.1]
