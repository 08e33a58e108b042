"""Acceptance of issue 5: `feedwatch run` on a generated clip, as a user runs it.

A red circle is visible only during VISIBLE; with the bundled shapes-demo CLIP and
the clip answerer, matched must equal "the window overlaps VISIBLE" on >= 90% of
windows; the answers are in the database; a second run adds no rows; bad input is
one line and exit code 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.bus.models import AnswerFields

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VISIBLE = (6.0, 12.0)
DURATION = 20.0
FIELDS = list(AnswerFields.model_fields)  # the answers message, without evidence


def _shapes_demo_available() -> bool:
    from pipeline.models.clip_encoder import shapes_demo_dir

    return (shapes_demo_dir() / "open_clip_config.json").is_file()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.scenes import scripted_scene, write_clip

    spec = scripted_scene(
        target=("red", "circle"),
        visible=[VISIBLE],
        distractors=3,
        seed=11,
        duration=DURATION,
        size=(320, 240),
    )
    return write_clip(
        spec, tmp_path_factory.mktemp("e2e") / "clip.mp4", fps=10, keyframe_interval_s=2.0
    )


def feedwatch(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    env = {**os.environ, "FEEDWATCH_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def run_clip(clip: Path, db: str, said: list[str] | None = None) -> list[dict[str, object]]:
    proc = feedwatch(
        "run",
        str(clip),
        "--ask",
        "a red circle",
        "--answerer",
        "clip",
        "--clip",
        "shapes-demo",
        "--every",
        "1s",
        "--window",
        "4s",
        "--json",
        "--db",
        db,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    if said is not None:
        said.append(proc.stderr)
    lines = proc.stdout.splitlines()
    answers = [json.loads(line) for line in lines]  # every stdout line is one JSON object
    assert answers and all(list(a) == FIELDS for a in answers)
    return answers


def overlaps(a: dict[str, object]) -> bool:
    return float(a["window_start"]) < VISIBLE[1] and float(a["window_end"]) > VISIBLE[0]  # type: ignore[arg-type]


def test_answers_agree_with_ground_truth_and_rerun_adds_nothing(clip: Path, tmp_path: Path) -> None:
    if not _shapes_demo_available():
        pytest.skip("shapes-demo weights are not bundled in pipeline/models/assets yet")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    answers = run_clip(clip, db)
    ends = [float(a["window_end"]) for a in answers]  # type: ignore[arg-type]
    assert ends == [float(e) for e in range(1, int(DURATION) + 1)]
    agree = sum(a["matched"] == overlaps(a) for a in answers) / len(answers)
    print(f"agreement {agree:.0%} over {len(answers)} windows")
    assert agree >= 0.9, [(a["window_end"], a["matched"], a["score"]) for a in answers]
    for a in answers:
        assert len(a["frames"]) == len(a["rois"]) >= 1  # type: ignore[arg-type]
        assert a["visual_tokens"] > 0 and a["latency_ms"] >= 0  # type: ignore[operator]
    engine = sa.create_engine(db)
    count = "select count(*) from answers"
    with engine.connect() as conn:
        assert conn.execute(sa.text(count)).scalar() == len(answers)
        assert conn.execute(sa.text("select count(*) from evidence")).scalar() > 0
    said: list[str] = []
    again = run_clip(clip, db, said)
    assert len(again) == len(answers)
    assert f"{len(answers)} of these answers were stored already" in " ".join(said[0].split())
    with engine.connect() as conn:
        assert conn.execute(sa.text(count)).scalar() == len(answers)
    engine.dispose()
    # the rollups were kept as the run stored its answers, and the rerun added nothing
    report = feedwatch("report", "--db", db, "--json")
    (series,) = json.loads(report.stdout)["series"]
    assert series["matched_s"] == sum(a["matched"] is True for a in answers)  # 1 s a window


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing.mp4", "--ask", "a red circle"], "no such file"),
        (["gopher://cam/stream", "--ask", "a red circle"], "unsupported scheme"),
        (["{clip}", "--ask", ""], "--ask"),
        (["{clip}", "--ask", "a red circle", "--every", "2s", "--window", "1s"], "--window"),
        (["{clip}", "--ask", "a red circle", "--answerer", "oracle"], "--answerer"),
    ],
    ids=["missing-file", "bad-scheme", "empty-question", "window<every", "unknown-answerer"],
)
def test_bad_input_one_line_exit_2(args: list[str], needle: str, clip: Path) -> None:
    proc = feedwatch("run", *[a.replace("{clip}", str(clip)) for a in args])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr


def test_a_question_that_can_never_be_answered_fails_the_run(clip: Path, tmp_path: Path) -> None:
    """A VLM that cannot be loaded sets its question aside: the run ends, says which
    question and why on its last line, and exits 1 (a script sees the work was not done)."""
    proc = feedwatch("run", str(clip), "--ask", "a red circle", "--answerer", "vlm",
                     "--vlm", str(tmp_path / "no-such-vlm"), "--db",
                     f"sqlite:///{tmp_path / 'f.db'}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 1 questions could not be answered")
    assert "ModelLoadError" in last and "queries show" in last


def test_a_run_whose_every_segment_was_a_dead_letter_fails(tmp_path: Path) -> None:
    """An 8K camera (over the decoder's pixel limit): each segment is a dead letter with
    its reason, and a run that answered nothing says so and exits 1 (it exited 0)."""
    from connectors.video.testing import make_clip

    huge = make_clip(tmp_path / "huge.mp4", seconds=0.4, fps=5, keyframe_interval_s=0.4,
                     size=(7680, 4320))
    proc = feedwatch("run", str(huge), "--ask", "a red circle", "--db",
                     f"sqlite:///{tmp_path / 'h.db'}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "exceeds" in proc.stderr  # the dead letter's reason
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: nothing was answered, and 1 dead letter(s)")


def test_verify_without_a_vlm_is_refused(clip: Path) -> None:
    proc = feedwatch("run", str(clip), "--ask", "a red circle", "--verify")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--verify" in proc.stderr and "vlm or cascade" in proc.stderr
