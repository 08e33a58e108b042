"""The command line starts, stays light, and the config root is strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from pipeline import __version__
from workers.cli.main import cli, main
from workers.config import KafkaSettings, StoreSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)


def test_console_script_help_lists_commands() -> None:
    script = Path(sys.executable).parent / "feedwatch"
    assert script.exists(), "console script missing: run `make install`"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage: feedwatch" in done.stdout and "version" in done.stdout


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"feedwatch {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2


@pytest.mark.parametrize("module", ["pipeline", "pipeline.types", "pipeline.errors"])
def test_importing_the_core_does_not_import_torch(module: str) -> None:
    done = _python(f"import sys, {module}; print(sorted(m for m in ('torch', 'open_clip', "
                   f"'transformers') if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_does_not_import_heavy_libraries() -> None:
    done = _python("import sys; from workers.cli.main import main; rc = main(['--help']); "
                   "print(rc, sorted(m for m in ('torch', 'open_clip', 'transformers') "
                   "if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        StoreSettings(bogus="x")  # type: ignore[call-arg]


def test_config_reads_env_fallback_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWATCH_STORE_URL", "postgresql+psycopg://db/feedwatch")
    monkeypatch.setenv("FEEDWATCH_KAFKA_BOOTSTRAP", "broker:9092")

    from_env = load_settings()
    flagged = load_settings(store={"url": "sqlite:///flag.db"}, kafka={"bootstrap": None})

    assert from_env.store.url == "postgresql+psycopg://db/feedwatch"
    assert flagged.store.url == "sqlite:///flag.db"
    assert flagged.kafka.bootstrap == "broker:9092" == KafkaSettings().bootstrap


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.store.url = "sqlite:///other.db"


def test_log_level_is_a_known_level_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown level is one line naming the setting, not a traceback from logging."""
    from pipeline.errors import ConfigError
    from workers.config import settings_from_flags

    assert settings_from_flags(root={"log_level": " debug "}).log_level == "DEBUG"
    monkeypatch.setenv("FEEDWATCH_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError) as info:
        settings_from_flags()
    assert str(info.value) == ("log_level: 'verbose' is not allowed; one of DEBUG, INFO, "
                               "WARNING, ERROR, CRITICAL [flag or env FEEDWATCH_LOG_LEVEL]")


def test_unworkable_video_settings_are_refused_where_read(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative segment length or a reconnect cap under its first delay was refused only
    when a camera opened (a traceback from ``run``): now where the settings are read."""
    from pipeline.errors import ConfigError
    from workers.cli.main import main
    from workers.config import settings_from_flags

    monkeypatch.setenv("FEEDWATCH_VIDEO_SEGMENT_SECONDS", "-1")
    with pytest.raises(ConfigError) as info:
        settings_from_flags()
    assert str(info.value) == ("video.segment_seconds: -1.0 is not allowed; must be > 0 "
                               "[flag or env FEEDWATCH_VIDEO_SEGMENT_SECONDS]")
    monkeypatch.delenv("FEEDWATCH_VIDEO_SEGMENT_SECONDS")
    monkeypatch.setenv("FEEDWATCH_VIDEO_RECONNECT_MAX_S", "0.1")
    assert main(["run", "clip.mp4", "--ask", "a red circle"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: video.reconnect_max_s: 0.1 is not allowed; must be >= "
                           "reconnect_initial_s [flag or env FEEDWATCH_VIDEO_RECONNECT_MAX_S]")


@pytest.mark.parametrize("env", ["FEEDWATCH_HOOKS_TIMEOUT_S", "FEEDWATCH_KAFKA_REQUEST_TIMEOUT_S",
                                 "FEEDWATCH_CLIPS_MAX_S", "FEEDWATCH_VIDEO_STALL_TIMEOUT_S"])
def test_no_setting_takes_nan_or_infinity(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An infinite timeout crashed where it became milliseconds: refused up front."""
    from pipeline.errors import ConfigError
    from workers.config import settings_from_flags

    for value in ("inf", "nan"):
        monkeypatch.setenv(env, value)
        with pytest.raises(ConfigError, match=f"finite number .flag or env {env}"):
            settings_from_flags()
