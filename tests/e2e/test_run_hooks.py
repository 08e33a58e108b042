"""Acceptance of issue 8 end to end: `feedwatch run --hook` on a flickering scene.

The red circle is visible in two stable stretches and, between them, flickers
(present one window, absent the next). With --open-after 2 --close-after 2 the run
must notify a real receiver on 127.0.0.1 once per stable presence: no alert storm,
signed, each incident processed once, and the run waits for its deliveries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import EventKind, Rule
from pipeline.types import Answer
from tests.e2e.cli_run import run_feedwatch
from tests.integration.alerts_receiver import Receiver
from tests.scene_clips import clip_available, red_circle_clip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STABLE = [(2.0, 7.0), (16.0, 21.0)]
FLICKER = [(9.0, 10.0), (11.0, 12.0), (13.0, 14.0)]
DURATION = 24.0
SECRET = "e2e-secret"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return red_circle_clip(
        tmp_path_factory.mktemp("hooks") / "flicker.mp4", sorted(STABLE + FLICKER),
        distractors=2, seed=11, duration=DURATION,
    )


def incidents_in(answers: list[dict]) -> int:
    """What the rule makes of the run's own answers (the same N=2, M=2)."""
    engine = AlertEngine([Rule("r", "q", open_after=2, close_after=2)])
    opened = 0
    for a in sorted(answers, key=lambda a: a["window_end"]):
        ans = Answer(
            "q",
            a["question"],
            a["camera"],
            a["window_start"],
            a["window_end"],
            a["window_end"],
            "clip",
            a["text"],
            a["matched"],
            a["score"],
            (),
            (),
            0,
            0.0,
        )
        opened += sum(1 for e in engine.feed(ans)[0] if e.kind is EventKind.OPENED)
    return opened


@pytest.mark.skipif(not clip_available(), reason="shapes-demo weights not built")
def test_run_with_hook_notifies_once_per_stable_presence(clip: Path, tmp_path: Path) -> None:
    receiver = Receiver(SECRET).start()
    try:
        flags = "--every 1s --window 1s --sample-fps 4 --json --open-after 2 --close-after 2"
        proc = run_feedwatch([
            "run", str(clip), "--ask", "a red circle", *flags.split(),
            "--db", f"sqlite:///{tmp_path / 'run.db'}",
            "--hook", receiver.url, "--hook-secret", SECRET, "--hook-allow-private",
        ])
    finally:
        receiver.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "alerts: all notifications delivered" in proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    flicker = [a for a in answers if (a["window_start"], a["window_end"]) in FLICKER]
    assert sum(bool(a["matched"]) for a in flicker) >= 2  # the model does see the flicker
    assert all(h.signature_ok for h in receiver.hits)
    assert set(receiver.processed.values()) == {1}
    assert len(receiver.processed) == incidents_in(answers)  # alerts agree with the answers
    assert len(receiver.processed) == len(STABLE)  # and with the ground truth: no storm
    assert SECRET not in proc.stderr
