"""Retention in a run, as a user sets it: two cameras, keep-times far shorter than the
streams; at the end no frame, answer or evidence row is older than its keep-time plus
one pruning interval on each camera's own clock, the newest rows are all there, and
the run logs no error. (A scaled-down form of the 30-minute soak: 4 minutes of stream
per camera, kept 60 s.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STREAM = 240.0
KEEP = 60.0


def test_retention_keeps_every_table_bounded(tmp_path: Path) -> None:
    from pipeline.models.clip_encoder import shapes_demo_dir
    from pipeline.scenes import scripted_scene, write_clip

    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        pytest.skip("shapes-demo weights are not bundled")
    spec = scripted_scene(target=("red", "circle"), visible=[(30.0, 90.0), (150.0, 200.0)],
                          distractors=2, seed=5, duration=STREAM, size=(320, 240))
    clip = write_clip(spec, tmp_path / "long.mp4", fps=5, keyframe_interval_s=2.0)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    env = {**os.environ, "FEEDWATCH_LOG_LEVEL": "INFO", "FEEDWATCH_RETENTION_FRAMES": "60s",
           "FEEDWATCH_RETENTION_ANSWERS": "1m", "FEEDWATCH_RETENTION_EVIDENCE": "60",
           "FEEDWATCH_RETENTION_INTERVAL_S": "2"}
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", str(clip), str(clip), "--camera", "north",
         "--camera", "south", "--ask", "a red circle", "--db", db, "--json"],
        capture_output=True, text=True, timeout=900, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert " ERROR " not in proc.stderr and "Traceback" not in proc.stderr
    assert "retention: deleted" in proc.stderr
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        for camera in ("north", "south"):
            clock = conn.execute(sa.text(
                "select max(window_end) from answers where camera_id = :c"), {"c": camera}
            ).scalar()
            assert clock >= STREAM - 1
            oldest = {
                table: conn.execute(sa.text(f"select min({col}) from {table} "
                                            "where camera_id = :c"), {"c": camera}).scalar()
                for table, col in (("frames", "t"), ("answers", "window_end"),
                                   ("evidence", "window_end"))
            }
            # pruned every 2 s of wall time; a camera's stream moves on at most a few
            # seconds meanwhile: allow 15 s past the keep-time
            for table, t in oldest.items():
                assert t is not None, table
                assert clock - t <= KEEP + 15, (camera, table, clock, t)
            newest = conn.execute(sa.text("select count(*) from frames where camera_id = :c "
                                          "and t >= :t"), {"c": camera, "t": clock - 30}).scalar()
            assert newest >= 29  # 1 fps: the last 30 s are all kept
    engine.dispose()
