"""Issue 20 end to end: `feedwatch run --answerer cascade --verify --hook` on a real receiver.

The red circle is visible in one stable stretch. The VLM is a tiny LLaVA with a
scripted reply (tests/scripted_vlm.py) run through the product's whole VLM path:
when it confirms, one incident opens and the webhook body carries its description;
when it denies, the CLIP gate still fires but no incident opens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli_run import run_feedwatch
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
    flags = (
        "--every 1s --window 2s --sample-fps 2 --json --open-after 2 --close-after 2 "
        "--answerer cascade --device cpu --verify --hook-allow-private"
    )
    proc = run_feedwatch([
        "run", str(clip), "--ask", "is there a red circle?", *flags.split(),
        "--vlm", str(vlm), "--db", f"sqlite:///{db}",
        "--hook", receiver.url, "--hook-secret", SECRET,
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


Scripted = Callable[[str], tuple[list[dict], Receiver]]


@pytest.fixture
def scripted(clip: Path, models: Path, tmp_path: Path) -> Scripted:
    """Runs with a VLM that always gives the reply; the receiver is stopped after the run."""

    def run(reply: str) -> tuple[list[dict], Receiver]:
        receiver = Receiver(SECRET).start()
        try:
            vlm = save_scripted_llava(models, reply)
            return _run(clip, vlm, tmp_path / "run.db", receiver), receiver
        finally:
            receiver.stop()

    return run


needs_clip = pytest.mark.skipif(not clip_available(), reason="shapes-demo weights not built")


@needs_clip
def test_verified_incident_carries_the_vlm_description(scripted: Scripted) -> None:
    answers, receiver = scripted(YES)
    said = [a for a in answers if a["text"] == YES]
    assert said and all(a["matched"] is True and a["answerer"] == "cascade" for a in said)
    assert any(a["text"] == "no" for a in answers)  # CLIP decided the empty windows alone
    assert len(receiver.processed) == 1 and all(h.signature_ok for h in receiver.hits)
    body = json.loads(receiver.hits[0].body)
    assert body["event"] == "opened" and body["question"] == "is there a red circle?"
    assert body["description"] == "a red circle stands in the middle"
    assert body["answer"]["text"] == YES


@needs_clip
def test_clip_gate_without_vlm_confirmation_opens_nothing(scripted: Scripted) -> None:
    answers, receiver = scripted(NO)
    gated = [a for a in answers if a["text"] == NO]
    assert len(gated) >= 2  # the CLIP gate fired on consecutive windows; the VLM said no
    assert all(a["matched"] is False for a in answers)
    assert receiver.hits == []
