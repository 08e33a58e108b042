"""`feedwatch run` on streams encoded as IP cameras send them (issue 17's must-show).

Long GOPs (10-s H.264 with AAC audio, 8-s HEVC), B-frames with irregular keyframes and
MJPEG: every window ending at 4 s ... the end is answered exactly once, each answer
lists >= 3 selected frame times inside its window, and the store holds the same rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.services import camera_clips as cc

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _shapes_demo_available() -> bool:
    from pipeline.models.clip_encoder import shapes_demo_dir

    return (shapes_demo_dir() / "open_clip_config.json").is_file()


def run_json(clip: Path, db: str) -> list[dict[str, object]]:
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    env = {**os.environ, "FEEDWATCH_LOG_LEVEL": "WARNING"}
    args = ["run", str(clip), "--ask", "a red circle", "--every", "1s", "--window", "4s",
            "--json", "--db", db]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=400, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def check_every_window(answers: list[dict[str, object]], db: str, duration: int) -> None:
    ends = Counter(float(a["window_end"]) for a in answers)  # type: ignore[arg-type]
    assert all(ends[float(e)] == 1 for e in range(4, duration + 1)), sorted(ends.items())
    assert max(ends) == duration and max(ends.values()) == 1
    for a in answers:
        start, end = float(a["window_start"]), float(a["window_end"])  # type: ignore[arg-type]
        frames = [float(t) for t in a["frames"]]  # type: ignore[attr-defined]
        if end >= 4:
            assert len(frames) >= 3, (end, frames)
        assert all(start <= t < end for t in frames), (start, end, frames)
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from answers")).scalar() == len(answers)
    engine.dispose()


CLIPS = {
    "h264-gop10-aac": (lambda p: cc.h264(p / "gop10.mp4", seconds=40, size=(320, 180),
                                         gop_s=10.0, audio=True), 40),
    "hevc-gop8": (lambda p: cc.hevc(p / "hevc8.mp4", seconds=40, gop_s=8.0), 40),
    "h264-bframes": (lambda p: cc.h264(p / "bf.mp4", seconds=12, bframes=3,
                                       keyframes=[0, 1.2, 3.6, 5.0, 7.4, 9.8]), 12),
    "mjpeg-avi": (lambda p: cc.mjpeg_avi(p / "m.avi", seconds=12), 12),
}


@pytest.mark.parametrize("kind", list(CLIPS))
def test_every_window_answered_once_with_its_frames(kind: str, tmp_path: Path) -> None:
    if not _shapes_demo_available():
        pytest.skip("shapes-demo weights are not bundled in pipeline/models/assets yet")
    if kind.startswith("hevc") and not cc.has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 encoder")
    make, duration = CLIPS[kind]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    check_every_window(run_json(make(tmp_path), db), db, duration)
