"""Rolling per-camera buffer: time window, frame cap, memory cap, overflow policy, windows."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.buffer import BufferLimits, BufferSet, FrameBuffer, OverflowPolicy
from pipeline.errors import ConfigError
from pipeline.types import EncodedFrame


def frame(t: float, camera: str = "cam", d: int = 4) -> EncodedFrame:
    return EncodedFrame(
        camera,
        t,
        np.zeros(d, np.float32),
        np.zeros((2, 2, d), np.float32),
        np.zeros((4, 4, 3), np.uint8),
        (40, 40),
    )


def times(buf: FrameBuffer) -> list[float]:
    return [f.t for f in buf]


def test_time_horizon_evicts_old_frames() -> None:
    buf = FrameBuffer("cam", BufferLimits(horizon=3.0))
    for t in range(8):
        assert buf.add(frame(float(t)))
    assert times(buf) == [4.0, 5.0, 6.0, 7.0]
    assert buf.dropped == 4


def test_out_of_order_frames_are_sorted_and_too_old_ones_refused() -> None:
    buf = FrameBuffer("cam", BufferLimits(horizon=5.0))
    for t in (1.0, 3.0, 2.0, 6.0):
        buf.add(frame(t))
    assert times(buf) == [1.0, 2.0, 3.0, 6.0]
    assert not buf.add(frame(0.5))  # older than newest - horizon
    assert times(buf) == [1.0, 2.0, 3.0, 6.0]


def test_frame_cap_drop_oldest_keeps_newest() -> None:
    buf = FrameBuffer("cam", BufferLimits(max_frames=3))
    for t in range(5):
        assert buf.add(frame(float(t)))
    assert times(buf) == [2.0, 3.0, 4.0]


def test_frame_cap_drop_newest_refuses_incoming() -> None:
    buf = FrameBuffer("cam", BufferLimits(max_frames=3, policy=OverflowPolicy.DROP_NEWEST))
    results = [buf.add(frame(float(t))) for t in range(5)]
    assert results == [True, True, True, False, False]
    assert times(buf) == [0.0, 1.0, 2.0] and buf.dropped == 2


def test_drop_newest_still_lets_expired_frames_go() -> None:
    limits = BufferLimits(horizon=2.0, max_frames=2, policy=OverflowPolicy.DROP_NEWEST)
    buf = FrameBuffer("cam", limits)
    for t in (0.0, 1.0, 5.0):
        assert buf.add(frame(t))
    assert times(buf) == [5.0]


def test_memory_cap() -> None:
    one = frame(0.0).nbytes
    buf = FrameBuffer("cam", BufferLimits(max_bytes=int(one * 2.5)))
    for t in range(4):
        buf.add(frame(float(t)))
    assert times(buf) == [2.0, 3.0]
    assert buf.nbytes == 2 * one <= buf.limits.max_bytes
    assert not FrameBuffer("cam", BufferLimits(max_bytes=one - 1)).add(frame(0.0))


def test_window_is_half_open() -> None:
    buf = FrameBuffer("cam")
    for t in (0.0, 1.0, 2.0, 3.0, 4.0):
        buf.add(frame(t))
    assert [f.t for f in buf.window(1.0, 4.0)] == [1.0, 2.0, 3.0]
    assert buf.window(10.0, 12.0) == ()


def test_wrong_camera_rejected_and_bufferset_per_camera() -> None:
    with pytest.raises(ValueError):
        FrameBuffer("a").add(frame(0.0, camera="b"))
    bs = BufferSet(BufferLimits(max_frames=2))
    bs["a"].add(frame(0.0, "a"))
    bs["b"].add(frame(0.0, "b"))
    assert bs.cameras() == ["a", "b"] and len(bs["a"]) == 1 and bs["b"].limits.max_frames == 2


def test_bad_limits_and_policy_names_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        BufferLimits(horizon=0)
    with pytest.raises(ConfigError):
        BufferLimits(max_frames=0)
    with pytest.raises(ConfigError, match="drop_oldest"):
        OverflowPolicy.parse("block-forever")
    assert OverflowPolicy.parse("DROP_NEWEST") is OverflowPolicy.DROP_NEWEST


def test_bufferset_set_limits_reaches_existing_buffers() -> None:
    bs = BufferSet(BufferLimits(horizon=2.0))
    for t in range(3):
        bs["a"].add(frame(float(t), "a"))
    bs.set_limits(BufferLimits(horizon=10.0))
    for t in range(3, 8):
        bs["a"].add(frame(float(t), "a"))
    assert len(bs["a"]) == 8 and bs["b"].limits.horizon == 10.0


def test_a_pin_keeps_frames_pending_windows_need_beyond_the_horizon() -> None:
    buf = FrameBuffer("cam", BufferLimits(horizon=3.0))
    buf.pin(0.0)
    for t in range(10):  # one 10-s segment arrives before any window over it is evaluated
        assert buf.add(frame(float(t)))
    assert times(buf) == [float(t) for t in range(10)]
    buf.pin(5.0)
    buf.add(frame(10.0))
    assert times(buf)[0] == 5.0
    buf.pin(None)
    buf.add(frame(11.0))
    assert times(buf) == [8.0, 9.0, 10.0, 11.0]


def test_a_pin_does_not_lift_the_frame_cap() -> None:
    buf = FrameBuffer("cam", BufferLimits(horizon=3.0, max_frames=4))
    buf.pin(0.0)
    for t in range(10):
        buf.add(frame(float(t)))
    assert times(buf) == [6.0, 7.0, 8.0, 9.0]
