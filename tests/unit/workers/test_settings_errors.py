"""A bad setting, from the environment or a flag, is one line on stderr and exit 2, before
anything is opened or printed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.video.testing import make_clip
from workers.cli.main import main


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "c.mp4", seconds=1.0, size=(64, 48))


Run = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture
def run_cli(
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Run:
    """Runs the CLI in an empty working folder; gives (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(argv: list[str]) -> tuple[int, str, str]:
        code = main([a.format(clip=clip) for a in argv])
        out, err = capfd.readouterr()
        return code, out, err

    return run


COMMANDS = [
    ["worker"],
    ["api"],
    ["ingest", "{clip}", "--camera", "a", "--kafka", "127.0.0.1:1"],
    ["alerts"],
    ["run", "{clip}", "--ask", "y"],
    ["queries", "list"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_bad_environment_value_is_one_line_naming_the_setting_and_exit_2(
    argv: list[str], run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDWATCH_KAFKA_PARTITIONS", "abc")
    code, out, err = run_cli(argv)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: kafka.partitions: 'abc'")
    assert "FEEDWATCH_KAFKA_PARTITIONS" in lines[0]
    assert out == ""
    assert list(tmp_path.iterdir()) == [], "nothing may be opened or written before validation"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["worker", "--metrics-port", "70000"], "metrics_port"),
        (["api", "--port", "http"], "api.port"),
        (["api", "--port", "70000"], "api.port"),
        (["ingest", "{clip}", "--camera", "a", "--to-dir", "x", "--segment-seconds", "s"],
         "video.segment_seconds"),
    ],
)
def test_a_bad_flag_value_is_named_the_same_way(
    argv: list[str], field: str, run_cli: Run
) -> None:
    code, _out, err = run_cli(argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}: "), err


def test_a_fields_own_rule_is_said_once(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWATCH_RETENTION_FRAMES", "0s")
    code, _, err = run_cli(["worker"])
    assert code == 2
    assert err.strip() == ("error: retention.frames: '0s' is not allowed; a finite duration "
                           "above 0 [flag or env FEEDWATCH_RETENTION_FRAMES]")
