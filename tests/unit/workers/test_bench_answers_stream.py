"""The answers bench decodes a clip as a player shows it."""

from __future__ import annotations

from pathlib import Path

from tests.services.camera_clips import h264, rotated
from workers.bench.answers.stream import Decoded, sampled_frames


def test_a_phone_clip_is_turned_upright_as_its_display_matrix_says(tmp_path: Path) -> None:
    clip = rotated(tmp_path / "portrait.mp4", degrees=90, seconds=3.0, size=(320, 180))
    frames = list(sampled_frames(clip, "cam", Decoded()))
    assert [f.t for f in frames] == [0.0, 1.0, 2.0]
    assert all(f.rgb.shape[:2] == (320, 180) for f in frames)  # portrait, as shown


def test_a_clip_without_a_display_matrix_is_kept_as_coded(tmp_path: Path) -> None:
    clip = h264(tmp_path / "plain.mp4", seconds=2.0, size=(320, 180))
    decoded = Decoded()
    frames = list(sampled_frames(clip, "cam", decoded))
    assert [f.rgb.shape[:2] for f in frames] == [(180, 320), (180, 320)]
    assert decoded.samples == 2 and decoded.duration >= 1.9
