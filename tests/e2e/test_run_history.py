"""History as a user meets it: search a finished run by text, backfill a new question.

A red circle is visible 12–20 s of a 30 s clip. After ``feedwatch run`` the frame
index holds every sampled frame; ``feedwatch search "a red circle"`` must return the
moment inside 12–20 s first; ``queries add ... --backfill 30s`` must answer the past
windows from stored embeddings alone, agreeing with the live answers of the same
windows on >= 95%; ``db stats`` and ``db prune`` see and bound the frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VISIBLE = (12.0, 20.0)
DURATION = 30.0


def feedwatch(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    env = {**os.environ, "FEEDWATCH_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, env=env, check=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from pipeline.models.clip_encoder import shapes_demo_dir
    from pipeline.scenes import scripted_scene, write_clip

    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        pytest.skip("shapes-demo weights are not bundled")
    folder = tmp_path_factory.mktemp("history")
    spec = scripted_scene(target=("red", "circle"), visible=[VISIBLE], distractors=3, seed=11,
                          duration=DURATION, size=(320, 240))
    clip = write_clip(spec, folder / "clip.mp4", fps=10, keyframe_interval_s=2.0)
    db = f"sqlite:///{folder / 'h.db'}"
    proc = feedwatch("run", str(clip), "--ask", "a red circle", "--answerer", "clip", "--clip",
                     "shapes-demo", "--every", "1s", "--window", "4s", "--json", "--db", db)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return db


def test_search_returns_the_visible_moment_first(store: str) -> None:
    proc = feedwatch("search", "a red circle", "--db", store, "--json", "--limit", "3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hits = [json.loads(line) for line in proc.stdout.splitlines()]
    assert 1 <= len(hits) <= 3
    assert {"camera", "t", "score", "thumbnail", "box"} <= set(hits[0])
    assert VISIBLE[0] <= hits[0]["t"] <= VISIBLE[1], hits
    assert hits[0]["score"] == max(h["score"] for h in hits)
    assert len(hits[0]["box"]) == 4 and hits[0]["thumbnail"].startswith("/api/frames/")
    late = feedwatch("search", "a red circle", "--db", store, "--json", "--since", "21")
    assert all(json.loads(line)["t"] >= 21 for line in late.stdout.splitlines())


def test_search_refuses_a_different_model(store: str) -> None:
    proc = feedwatch("search", "a red circle", "--db", store, "--clip", "ViT-B-32")
    assert proc.returncode == 2 and "--clip" in proc.stderr and "shapes-demo" in proc.stderr


def test_backfill_agrees_with_live_answers(store: str) -> None:
    proc = feedwatch("queries", "add", "a red circle", "--backfill", "30s", "--db", store)
    assert proc.returncode == 0, proc.stderr[-2000:]
    qid = proc.stdout.strip()
    engine = sa.create_engine(store)
    sql = "select window_end, matched from answers where query_id = :q and backfilled = :b"
    with engine.connect() as conn:
        back = dict(conn.execute(sa.text(sql), {"q": qid, "b": True}).all())
        live = dict(conn.execute(sa.text("select window_end, matched from answers "
                                         "where query_id != :q and backfilled = :b"),
                                 {"q": qid, "b": False}).all())
    engine.dispose()
    common = sorted(set(back) & set(live))
    assert len(common) >= 25, (sorted(back), sorted(live))
    agree = sum(back[e] == live[e] for e in common) / len(common)
    print(f"backfill agreement {agree:.0%} over {len(common)} windows")
    assert agree >= 0.95
    assert any(back[e] for e in common) and not all(back[e] for e in common)


def test_stats_and_prune_bound_the_index(store: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(sa.make_url(store).database).read_bytes())
    url = f"sqlite:///{copy}"
    stats = json.loads(feedwatch("db", "stats", "--db", url, "--json").stdout)
    frames = {t["table"]: t for t in stats["tables"]}["frames"]
    assert frames["rows"] == DURATION and frames["bytes"] > 0
    pruned = feedwatch("db", "prune", "--db", url, "--frames", "10s")
    assert pruned.returncode == 0, pruned.stderr
    after = json.loads(feedwatch("db", "stats", "--db", url, "--json").stdout)
    (cam,) = [c for c in after["cameras"] if c["table"] == "frames"]
    # the clip's own clock is 30 s (its last window end): frames from 20 s on are kept
    assert cam["rows"] == 10 and cam["span_s"] == 9.0
