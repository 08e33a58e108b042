"""Static checks of docker/: lint, Compose schema, and that every service runs a real
`feedwatch` subcommand configured only through variables the typed config reads."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from workers.cli.main import cli
from workers.config import known_env_vars

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is a test dependency (pyproject [test] extra)"
    return found


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def feedwatch_services(doc: dict) -> dict[str, dict]:
    """Services whose image runs the feedwatch entrypoint."""
    return {n: s for n, s in doc["services"].items() if "feedwatch" in str(s.get("image", ""))}


def command_path(argv: list[str]) -> list[str]:
    """The leading tokens of ``argv`` that name (sub)commands, e.g. ['db', 'upgrade']."""
    path: list[str] = []
    group: click.Command = cli
    ctx = click.Context(cli)
    for token in argv:
        if not isinstance(group, click.Group) or token not in group.list_commands(ctx):
            break
        path.append(token)
        group = group.get_command(ctx, token)
    return path


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.cuda"])
def test_dockerfiles_pass_hadolint(dockerfile: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), str(DOCKER / dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(DOCKER / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_camera_services_match_the_specification(tmp_path: Path) -> None:
    out = tmp_path / "compose.cameras.yaml"
    subprocess.run(
        [
            sys.executable,
            str(DOCKER / "cameras.py"),
            str(DOCKER / "cameras.env.example"),
            "-o",
            str(out),
        ],
        check=True,
    )
    doc = yaml.safe_load(out.read_text())
    assert set(doc["services"]) == {"ingest-dock-door-1"}  # one process for both cameras
    env = doc["services"]["ingest-dock-door-1"]["environment"]["FEEDWATCH_INGEST_CAMERAS"]
    assert [line.split("=")[0] for line in env.splitlines()] == ["dock-door-1", "loading-bay"]
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cameras_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "cameras.env"
    bad.write_text("ok-cam=rtsp://a/b\nBad Cam=rtsp://c/d\n")
    result = subprocess.run(
        [sys.executable, str(DOCKER / "cameras.py"), str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "line 2" in result.stderr


def cameras_script() -> Any:
    """docker/cameras.py, loaded as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("cameras", DOCKER / "cameras.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def camera_service() -> dict:
    """The ingest service docker/cameras.py writes for a group of cameras."""
    return cameras_script().ingest_service({"cam": "rtsp://camera.example/stream"})


def test_the_cameras_script_knows_the_network_schemes_ingest_knows() -> None:
    from connectors.video.uri import NETWORK_SCHEMES

    assert cameras_script().SCHEMES == tuple(f"{s}://" for s in NETWORK_SCHEMES)


def service_commands() -> list[tuple[str, list[str]]]:
    services = {**feedwatch_services(compose()), "ingest-cam": camera_service()}
    return [(name, list(svc["command"])) for name, svc in services.items()]


@pytest.mark.parametrize(("service", "argv"), service_commands())
def test_every_service_runs_a_real_subcommand(service: str, argv: list[str]) -> None:
    path = command_path(argv)
    assert path, f"{service}: {argv[0]!r} is not a feedwatch subcommand"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, (
        f"{service}: feedwatch {' '.join(path)} --help failed:\n{result.output}"
    )


def env_names(service: dict) -> set[str]:
    env = service.get("environment") or {}
    return set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}


def test_service_environment_is_known_to_the_config() -> None:
    known = known_env_vars()
    for name, svc in feedwatch_services(compose()).items():
        unknown = env_names(svc) - known
        assert not unknown, (
            f"{name}: environment variables unknown to the config: {sorted(unknown)}"
        )


def test_env_example_feedwatch_variables_are_known_to_the_config() -> None:
    lines = (DOCKER / "feedwatch.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    unknown = {n for n in names if n.startswith("FEEDWATCH_")} - known_env_vars()
    assert not unknown, sorted(unknown)


def test_secrets_file_is_not_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "docker/feedwatch.env" in ignored
