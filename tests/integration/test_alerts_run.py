"""`feedwatch run --hook` in process: video -> answers -> store -> rules -> a real receiver.

The perception runs with :class:`pipeline.testing.ColourEncoder` (the shipped,
torch-free stand-in whose "a red circle" scores exactly the frames with red in them),
so this checks the wiring of the embedded run with alerting, not CLIP quality (a fixed
threshold: the stand-in's text side knows colours only, not the alternatives the default
tracker asks about); the shapes-demo version is tests/e2e/test_run_hooks.py. A
flickering red circle with --open-after 2 --close-after 2 gives one notification per
stable presence, and at the end of the file the run waits (bounded) for its deliveries
and says what remains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alerts_receiver import Receiver

from connectors.store.secret_box import new_key
from pipeline.testing import ColourEncoder
from tests.scene_clips import red_circle_clip
from workers.cli.main import main

STABLE = [(2.0, 7.0), (16.0, 21.0)]
FLICKER = [(9.0, 10.0), (11.0, 12.0), (13.0, 14.0)]
SECRET = "run-secret"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return red_circle_clip(
        tmp_path_factory.mktemp("run") / "flicker.mp4", sorted(STABLE + FLICKER),
        distractors=0, seed=11, duration=24.0,
    )


@pytest.fixture
def colour_clip(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.clip_encoder as clip_encoder

    monkeypatch.setattr(
        clip_encoder.ClipEncoder,
        "from_spec",
        classmethod(lambda cls, spec, device="auto", **_: ColourEncoder()),
    )
    monkeypatch.setenv("FEEDWATCH_HOOKS_BACKOFF_BASE_S", "0.2")
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())  # the run stores the hook secret
    monkeypatch.delenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", raising=False)


def run(clip: Path, db: Path, url: str) -> int:
    return main(
        [
            "run",
            str(clip),
            "--ask",
            "a red circle",
            "--every",
            "1s",
            "--window",
            "1s",
            "--sample-fps",
            "4",
            "--set",
            "threshold=0.25",
            "--json",
            "--db",
            f"sqlite:///{db}",
            "--hook",
            url,
            "--hook-secret",
            SECRET,
            "--open-after",
            "2",
            "--close-after",
            "2",
            "--hook-allow-private",
        ]
    )


def test_run_notifies_once_per_stable_presence(
    clip: Path,
    tmp_path: Path,
    colour_clip: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDWATCH_HOOKS_WAIT_ON_EXIT_S", "20")
    receiver = Receiver(SECRET, lambda key, n: ("status", 503) if n == 1 else ("ok",)).start()
    try:
        assert run(clip, tmp_path / "run.db", receiver.url) == 0
    finally:
        receiver.stop()
    out, err = capsys.readouterr()
    answers = [json.loads(line) for line in out.splitlines()]
    flicker_windows = [a for a in answers if (a["window_start"], a["window_end"]) in FLICKER]
    assert flicker_windows and all(a["matched"] for a in flicker_windows)  # it does flicker
    assert "alerts: all notifications delivered" in err
    assert len(receiver.processed) == len(STABLE) and set(receiver.processed.values()) == {1}
    started = sorted(
        json.loads(h.body)["incident"]["started_at"] for h in receiver.hits if h.processed
    )
    assert started == [s for s, _ in STABLE]
    assert all(h.signature_ok for h in receiver.hits) and SECRET not in err


def test_run_waits_bounded_and_says_what_remains(
    clip: Path,
    tmp_path: Path,
    colour_clip: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDWATCH_HOOKS_WAIT_ON_EXIT_S", "1")
    receiver = Receiver(SECRET, lambda key, n: ("status", 503)).start()
    try:
        assert run(clip, tmp_path / "down.db", receiver.url) == 0
    finally:
        receiver.stop()
    err = capsys.readouterr().err
    assert "alerts: 2 deliveries still pending after 1s" in err
    assert receiver.hits and not receiver.processed


def test_run_says_how_many_notifications_were_given_up(
    clip: Path,
    tmp_path: Path,
    colour_clip: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A receiver that refuses (400: final) leaves every delivery dead: the run says so
    (it said "all notifications delivered" before)."""
    receiver = Receiver(SECRET, lambda key, n: ("status", 400)).start()
    try:
        assert run(clip, tmp_path / "refused.db", receiver.url) == 0
    finally:
        receiver.stop()
    err = " ".join(capsys.readouterr().err.split())
    assert "alerts: 0 delivered; 2 dead, given up" in err, err[-1500:]
    assert "all notifications delivered" not in err
