"""Issue 20 end to end: `feedwatch run --answerer cascade --verify --hook` on a real receiver.

The red circle is visible in one stable stretch. The VLM is a tiny LLaVA with a
scripted reply (tests/scripted_vlm.py) run through the product's whole VLM path:
when it confirms, one incident opens and the webhook body carries its description;
when it denies, the CLIP gate still fires but no incident opens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.alerts_receiver import Receiver
from tests.scene_clips import clip_available, red_circle_clip
from tests.scripted_vlm import save_scripted_llava

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

YES = "yes a red circle stands in the middle"
NO = "no nothing is there"
SECRET = "verify-secret"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return red_circle_clip(
        tmp_path_factory.mktemp("verify") / "red.mp4", [(3.0, 9.0)], distractors=1, seed=5,
        duration=12.0,
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vlms")


def _run(clip: Path, vlm: Path, db: Path, receiver: Receiver) -> list[dict]:
    env = {
        **os.environ,
        "FEEDWATCH_LOG_LEVEL": "WARNING",
        "FEEDWATCH_HOOKS_WAIT_ON_EXIT_S": "30",
        "FEEDWATCH_HOOKS_BACKOFF_BASE_S": "0.2",
    }
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    flags = (
        "--every 1s --window 2s --sample-fps 2 --json --open-after 2 --close-after 2 "
        "--answerer cascade --device cpu --verify --hook-allow-private"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            str(clip),
            "--ask",
            "is there a red circle?",
            *flags.split(),
            "--vlm",
            str(vlm),
            "--db",
            f"sqlite:///{db}",
            "--hook",
            receiver.url,
            "--hook-secret",
            SECRET,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _run_scripted(clip: Path, models: Path, reply: str, db: Path) -> tuple[list[dict], Receiver]:
    """The run with a VLM that always gives ``reply``; the receiver is stopped after it."""
    receiver = Receiver(SECRET).start()
    try:
        return _run(clip, save_scripted_llava(models, reply), db, receiver), receiver
    finally:
        receiver.stop()


needs_clip = pytest.mark.skipif(not clip_available(), reason="shapes-demo weights not built")


@needs_clip
def test_verified_incident_carries_the_vlm_description(
    clip: Path, models: Path, tmp_path: Path
) -> None:
    answers, receiver = _run_scripted(clip, models, YES, tmp_path / "yes.db")
    said = [a for a in answers if a["text"] == YES]
    assert said and all(a["matched"] is True and a["answerer"] == "cascade" for a in said)
    assert any(a["text"] == "no" for a in answers)  # CLIP decided the empty windows alone
    assert len(receiver.processed) == 1 and all(h.signature_ok for h in receiver.hits)
    body = json.loads(receiver.hits[0].body)
    assert body["event"] == "opened" and body["question"] == "is there a red circle?"
    assert body["description"] == "a red circle stands in the middle"
    assert body["answer"]["text"] == YES


@needs_clip
def test_clip_gate_without_vlm_confirmation_opens_nothing(
    clip: Path, models: Path, tmp_path: Path
) -> None:
    answers, receiver = _run_scripted(clip, models, NO, tmp_path / "no.db")
    gated = [a for a in answers if a["text"] == NO]
    assert len(gated) >= 2  # the CLIP gate fired on consecutive windows; the VLM said no
    assert all(a["matched"] is False for a in answers)
    assert receiver.hits == []
