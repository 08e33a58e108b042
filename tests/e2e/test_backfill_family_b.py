"""Backfill reproduces live on scenes the levels were never chosen on (family b).

Two family-b scenes (another renderer: textures, lighting, shake, occlusion, low
bitrate) are run live with every scene's question on every camera; then each question
is added again with ``--backfill``, answered from the stored frames alone. The adaptive
``clip`` answerer must say the same on >= 97% of the windows both answered.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.e2e.test_run_history import feedwatch

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_backfill_agrees_with_live_on_family_b(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.familyb import family_b_scene, write_clip
    from pipeline.models.clip_encoder import shapes_demo_dir

    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        pytest.skip("shapes-demo weights are not bundled")
    scenes = [family_b_scene(7_000 + n, n, "easy", False) for n in range(2)]
    clips = [str(write_clip(s, tmp_path / f"cam{n}.mp4")) for n, s in enumerate(scenes)]
    questions = sorted({s.question for s in scenes})
    db = f"sqlite:///{tmp_path / 'b.db'}"
    asks = [a for q in questions for a in ("--ask", q)]
    live = feedwatch("run", *clips, *asks, "--clip", "shapes-demo", "--json", "--db", db)
    assert live.returncode == 0, live.stderr[-2000:]
    added = []
    for q in questions:
        proc = feedwatch("queries", "add", q, "--backfill", "60s", "--db", db)
        assert proc.returncode == 0, proc.stderr[-2000:]
        added.append(proc.stdout.strip())
    engine = sa.create_engine(db)
    sql = ("select q.question, a.camera_id, a.window_end, a.matched, a.backfilled from answers a "
           "join queries q on q.id = a.query_id")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    engine.dispose()
    back = {(q, c, e): m for q, c, e, m, b in rows if b}
    live_answers = {(q, c, e): m for q, c, e, m, b in rows if not b}
    common = sorted(set(back) & set(live_answers))
    assert len(common) >= 100, (len(back), len(live_answers))
    agree = sum(back[k] == live_answers[k] for k in common) / len(common)
    print(f"family b backfill agreement {agree:.1%} over {len(common)} windows")
    assert agree >= 0.97
    assert any(back[k] for k in common) and not all(back[k] for k in common)
