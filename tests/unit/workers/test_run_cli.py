"""`feedwatch run` / `answers` / `db` input handling: one line, exit 2, nothing on stdout."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from connectors.bus.models import AnswerFields, answer_json
from pipeline.errors import ConfigError
from pipeline.types import Answer
from workers.cli import run_request as request
from workers.cli.main import main
from workers.cli.options import parse_duration, parse_time


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 16)  # validation never opens it
    return path


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "missing.mp4", "--ask", "x"], "no such file"),
        (["run", "/", "--ask", "x"], "a directory"),
        (["run", "/dev/zero", "--ask", "x"], "not a regular file"),
        (["run", "ftp://host/x.mp4", "--ask", "x"], "unsupported scheme"),
        (["run", "{clip}", "--ask", "  "], "--ask"),
        (["run", "{clip}"], "--ask"),
        (["run", "{clip}", "--ask", "x", "--every", "2s", "--window", "1s"], "--window"),
        (["run", "{clip}", "--ask", "x", "--answerer", "gpt"], "--answerer"),
        (["run", "{clip}", "--ask", "x", "--every", "soon"], "--every"),
        (["run", "--ask", "x"], "SOURCE"),
        (["run", "{clip}", "{clip}", "--ask", "x", "--camera", "a"], "--camera"),
        (["run", "{clip}", "--ask", "x", "--db", "mysql://h/db"], "--db"),
        (["run", "{clip}", "--ask", "x", "--answerer", "vlm"], "--vlm"),
        (["answers", "--db", "mysql://h/db"], "--db"),
        (["answers", "--db", "sqlite://", "--since", "yesterday"], "--since"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], needle: str, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([a.replace("{clip}", str(clip)) for a in args])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_every_run_flag_shows_its_env_var(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for var in (
        "FEEDWATCH_ASK",
        "FEEDWATCH_EVERY",
        "FEEDWATCH_WINDOW",
        "FEEDWATCH_ANSWERER",
        "FEEDWATCH_PERCEPTION_CLIP",
        "FEEDWATCH_PERCEPTION_VLM",
        "FEEDWATCH_STORE_URL",
        "FEEDWATCH_JSON",
        "FEEDWATCH_CAMERAS",
        "FEEDWATCH_PERCEPTION_SAMPLE_FPS",
    ):
        assert var in text


def test_env_fallback_is_validated_too(
    clip: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEEDWATCH_WINDOW", "500ms")
    assert main(["run", str(clip), "--ask", "x"]) == 2
    assert "--window" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("1s", 1.0), ("500ms", 0.5), ("2m", 120.0), ("1.5", 1.5), ("1h", 3600.0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, "--every") == seconds


@pytest.mark.parametrize("text", ["", "0s", "-1s", "1 parsec", "s", "nan"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="--every"):
        parse_duration(text, "--every")


def test_parse_time() -> None:
    assert parse_time("12.5", "--since") == 12.5
    assert parse_time("2026-01-01T00:00:00Z", "--since") == 1767225600.0
    with pytest.raises(ConfigError):
        parse_time("2026-01-01T00:00:00", "--since")  # naive: ambiguous


def test_answer_json_is_the_answer_message_without_evidence() -> None:
    a = Answer(
        "q",
        "a red circle",
        "cam",
        0.0,
        4.0,
        9.0,
        "clip",
        "yes",
        True,
        0.5,
        (1.0,),
        ((0.0, 0.0, 0.5, 0.5),),
        6,
        3.0,
    )
    assert list(answer_json(a)) == list(AnswerFields.model_fields)
    assert AnswerFields.model_validate(answer_json(a)) == AnswerFields.of(a)


def test_env_questions_cameras_and_query_ids(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.cli.commands import run as run_cmd

    seen: dict[str, object] = {}
    monkeypatch.setattr(
        run_cmd, "execute", lambda args, settings, *_: seen.update(a=args, s=settings)
    )
    monkeypatch.setenv("FEEDWATCH_ASK", "a red circle; a blue square")
    monkeypatch.setenv("FEEDWATCH_STORE_URL", "sqlite:///env.db")
    other = clip.with_name("yard cam.mp4")
    other.write_bytes(b"\x00")
    assert (
        main(["run", str(clip), str(other), str(clip), "--every", "500ms", "--window", "2s"]) == 0
    )
    args = seen["a"]
    assert args.questions == ("a red circle", "a blue square")  # type: ignore[attr-defined]
    assert [c for c, _ in args.sources] == ["clip", "yard-cam", "clip-2"]  # type: ignore[attr-defined]
    assert (args.every, args.window) == (0.5, 2.0)  # type: ignore[attr-defined]
    assert seen["s"].store.url == "sqlite:///env.db"  # type: ignore[attr-defined]
    ids = [q.id for q in request.standing_queries(args)]  # type: ignore[arg-type]
    assert len(set(ids)) == 2 and ids == [q.id for q in request.standing_queries(args)]  # type: ignore[arg-type]


def test_answerer_settings_are_checked_early(
    clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(clip), "--ask", "x", "--set", "threshold=7"]) == 2
    assert "threshold" in capsys.readouterr().err
    assert main(["run", str(clip), "--ask", "x", "--set", "colour"]) == 2
    assert "--set" in capsys.readouterr().err


def test_answerer_settings_reach_the_query(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.cli.commands import run as run_cmd

    seen: dict[str, object] = {}
    monkeypatch.setattr(run_cmd, "execute", lambda args, settings, *_: seen.update(a=args))
    assert (
        main(["run", str(clip), "--ask", "x", "--set", "threshold=0.3", "--set", "mode=margin"])
        == 0
    )
    (q,) = request.standing_queries(seen["a"])  # type: ignore[arg-type]
    assert q.settings == {"threshold": 0.3, "mode": "margin"}
    plain = request.standing_queries(replace(seen["a"], answerer_settings=()))  # type: ignore[type-var]
    assert plain[0].id != q.id


def test_camera_names_from_sources_keep_files_in_other_scripts_apart() -> None:
    name = request._camera_name
    assert name("/v/red-circle.mp4") == "red-circle" and name("with space.mp4") == "with-space"
    assert name("rtsp://cam1:554/stream") == "cam1-554-stream"  # ASCII: as before
    a, b = name("камера.mp4"), name("видео.mp4")  # both were "camera": a re-run of the other
    assert a != b and a.startswith("camera-") and name("камера.mp4") == a  # and stable
    assert name("ünï-камера.mp4").startswith("n-") and len(name("x" * 90 + ".mp4")) == 64
    from connectors.video.uri import check_camera

    for uri in ("камера.mp4", "ünï-камера.mp4", "x" * 90 + ".mp4", "---.mp4"):
        check_camera(name(uri))
