"""What ``feedwatch`` returns: a command's own exit code, and refusals of arguments that
would otherwise surface deep inside as tracebacks (non-UTF-8 bytes, a device torch does
not know, a Kafka address without a port)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from workers.cli.main import cli, main
from workers.config import Settings


@click.command()
@click.pass_context
def _exit_three(ctx: click.Context) -> None:
    ctx.exit(3)


@click.command()
def _returns_text() -> str:
    return "not an exit code"


def test_a_commands_ctx_exit_code_is_the_process_exit_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.commands, "exit-three", _exit_three)  # gone after the test
    monkeypatch.setitem(cli.commands, "returns-text", _returns_text)
    assert main(["exit-three"]) == 3
    assert main(["returns-text"]) == 0
    assert main(["version"]) == 0


def test_arguments_that_are_not_utf8_are_refused_by_position(
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = b"\xff".decode("utf-8", "surrogateescape")  # as Python decodes such an argv
    assert main(["answers", "--question", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: argument 3 is not valid UTF-8 (feedwatch reads its arguments as "
                   "UTF-8 text)")


@pytest.mark.parametrize("device", ["bogus", "", "cuda:x", "gpu"])
def test_an_unknown_device_is_a_settings_error(device: str) -> None:
    with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:N"):
        Settings.model_validate({"perception": {"device": device}})


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_known_devices_pass(device: str) -> None:
    assert Settings.model_validate({"perception": {"device": device}}).perception.device == device


@pytest.mark.parametrize("bootstrap", ["host:abc", ":", "host", "host:0", "host:99999", "a:1,b"])
def test_a_kafka_address_needs_host_and_port(bootstrap: str) -> None:
    with pytest.raises(ValueError, match="port of 1-65535"):
        Settings.model_validate({"kafka": {"bootstrap": bootstrap}})
    with pytest.raises(ValueError, match="--kafka"):
        Settings().kafka.with_bootstrap(bootstrap)


@pytest.mark.parametrize("bootstrap", ["", "localhost:9092", "a:1, b:2", "[::1]:9092"])
def test_good_kafka_addresses_pass(bootstrap: str) -> None:
    assert Settings.model_validate({"kafka": {"bootstrap": bootstrap}}).kafka.bootstrap == bootstrap


def test_ingest_refuses_an_empty_directory_and_a_bad_kafka_address(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "x.mp4", "--camera", "c1", "--to-dir", ""]) == 2
    assert "--to-dir: '' is not allowed" in capsys.readouterr().err
    assert main(["ingest", "x.mp4", "--camera", "c1", "--kafka", "host:99999"]) == 2
    assert "--kafka: 'host:99999' is not allowed" in capsys.readouterr().err


def test_clips_needs_kafka_and_a_directory_before_the_store_opens(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    assert main(["clips", "--db", f"sqlite:///{db}", "--kafka", ""]) == 2
    assert "--kafka: '' is not allowed" in capsys.readouterr().err
    assert main(["clips", "--db", f"sqlite:///{db}", "--kafka", "localhost:1", "--dir", ""]) == 2
    assert "--dir: '' is not allowed" in capsys.readouterr().err
    assert not db.exists()


def test_sigterm_unwinds_a_command_like_ctrl_c_and_exits_143(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A bench or soak stopped by SIGTERM removes its temporary folders (as on Ctrl-C)."""
    import os
    import signal
    import tempfile
    import time

    made: list[str] = []

    @click.command()
    def _terminated() -> None:
        with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
            made.append(tmp)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the signal interrupts this
            made.append("slept")

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setitem(cli.commands, "terminated", _terminated)
    assert main(["terminated"]) == 143
    assert len(made) == 1 and not Path(made[0]).exists()
    assert capsys.readouterr().err.strip().endswith("terminated")
    assert signal.getsignal(signal.SIGTERM) == before  # handed back after the command
