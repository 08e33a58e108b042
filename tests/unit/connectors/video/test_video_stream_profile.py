"""What ingest reports about each camera: codec, size, measured frame rate and GOP."""

from __future__ import annotations

from pathlib import Path

from connectors.video.resilience import LiveSegments
from connectors.video.status import StreamMeter
from tests.services import camera_clips as cc
from workers.cli.main import main


def test_meter_measures_fps_and_gop_from_packet_times() -> None:
    meter = StreamMeter()
    meter.connected("h264", 1280, 720)
    assert meter.profile.fps is None and meter.profile.gop_s is None
    order = [0, 3, 1, 2, 6, 4, 5]  # B-frame decode order must not skew the rate
    for gop in range(3):
        for i in range(0, 250, 7):
            for j in order:
                t = gop * 10.0 + (i + j) / 25
                if t < (gop + 1) * 10.0:
                    meter.add(t, keyframe=(i + j) % 250 == 0)
    profile = meter.profile
    assert (profile.codec, profile.width, profile.height) == ("h264", 1280, 720)
    assert profile.fps == 25.0 and profile.gop_s == 10.0
    assert profile.describe() == "h264 1280x720 25.0 fps GOP 10.00s"


def test_a_re_anchored_clock_starts_the_measurement_afresh() -> None:
    meter = StreamMeter()
    for i in range(50):
        meter.add(1000.0 + i / 10, keyframe=i % 10 == 0)
    for i in range(3):
        meter.add(i / 25, keyframe=i == 0)
    assert meter.profile.fps == 25.0 and meter.profile.gop_s is None


def test_live_segments_profile_a_hevc_camera(tmp_path: Path) -> None:
    clip = cc.hevc(tmp_path / "h.mp4", seconds=8.0, fps=12, gop_s=4.0)
    live = LiveSegments.from_config(str(clip), "cam")
    assert len(list(live)) == 4
    p = live.profile
    assert (p.codec, p.width, p.height, p.fps, p.gop_s) == ("hevc", 176, 144, 12.0, 4.0)


def test_ingest_prints_codec_size_fps_and_gop(tmp_path: Path, capsys) -> None:
    clip = cc.h264(tmp_path / "g.mp4", seconds=8.0, gop_s=4.0, size=(320, 180))
    assert main(["ingest", str(clip), "--camera", "c", "--to-dir", str(tmp_path / "o")]) == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("as c: h264 320x180 25.0 fps GOP 4.00s")
    assert "(+2.00s carried)" in err  # the mid-GOP segments say what they carry


def test_the_status_topic_snapshot_carries_the_measured_profile() -> None:
    from connectors.bus.status_messages import decode_camera_status
    from connectors.kafka.status import StatusPublisher
    from pipeline.types import Segment
    from tests.unit.fakes import RecordingProducer

    producer = RecordingProducer()
    publisher = StatusPublisher(producer, "feedwatch.status", "gate", clock=lambda: 5.0)
    meter = StreamMeter()
    meter.connected("hevc", 176, 144)
    for i in range(100):
        meter.add(i / 12, keyframe=i % 48 == 0)
    publisher.saw_segment(Segment("gate", 0, 0.0, 2.0, b"ts"), meter.profile)
    _, status = decode_camera_status(*producer.sent[-1][1:])
    assert status is not None
    assert (status.codec, status.width, status.height, status.fps, status.gop_s) == (
        "hevc", 176, 144, 12.0, 4.0)
