"""A new answerer is one module and one registration: an installed package publishes its
class under the ``feedwatch.answerers`` entry point group, and the API, ``feedwatch run
--answerer``, ``feedwatch bench questions``, the perceiver and alert conditions take it
with no other change, reading its capabilities (``keeps_baselines``, ``uses_vlm``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from pipeline import extensions
from pipeline.alerts.model import Condition, ConditionKind, vlm_description
from pipeline.answerers import base
from pipeline.answerers.base import Answerer, AnswererSettings, AnswerResult
from pipeline.answerers.states import MemoryStates
from pipeline.perceiver import AnswererCache
from pipeline.testing import ColourEncoder
from pipeline.types import Answer
from tests.unit.workers.api.scenarios import READ, ApiHarness
from workers.cli.main import main


class EchoSettings(AnswererSettings):
    word: str = "yes"


class EchoAnswerer(Answerer):
    """Says ``word`` on every window; keeps a baseline (so it is told where states live)."""

    type: ClassVar[str] = "echo"
    config_cls: ClassVar[type[AnswererSettings]] = EchoSettings
    keeps_baselines: ClassVar[bool] = True

    def __init__(self, settings: EchoSettings) -> None:
        self.settings, self.states = settings, None

    @classmethod
    def build(cls, config: Any, *, encoder: Any, vlm_spec: str = "") -> EchoAnswerer:
        return cls(config)

    def use_states(self, states: Any) -> None:
        self.states = states

    def answer(self, query: Any, window: Any, selection: Any, query_emb: Any) -> AnswerResult:
        return AnswerResult(self.settings.word, True, 1.0, 0)


class SpeakingEchoAnswerer(EchoAnswerer):
    """The same, as if a VLM wrote its text."""

    type: ClassVar[str] = "echo-vlm"
    uses_vlm: ClassVar[bool] = True


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both published by a package, as entry points (and one that does not load)."""
    here = __name__
    eps = [EntryPoint(n, v, extensions.GROUP) for n, v in (
        ("echo", f"{here}:EchoAnswerer"), ("echo-vlm", f"{here}:SpeakingEchoAnswerer"),
        ("gone", "nowhere:Nope"))]
    monkeypatch.setattr(extensions, "entry_points", lambda group: eps if group == eps[0].group
                        else [])
    monkeypatch.setattr(extensions, "_loaded", set())
    monkeypatch.setattr(extensions, "_scanned", {})  # as after installing a package
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    yield


def test_entry_points_add_answer_types_and_a_broken_one_is_left_out() -> None:
    types = extensions.answerer_types()
    assert {"clip", "vlm", "cascade", "echo", "echo-vlm"} <= set(types) and "gone" not in types
    assert types["echo"] is EchoAnswerer


def test_the_perceiver_builds_it_and_hands_it_the_states() -> None:
    states = MemoryStates()
    built = AnswererCache(ColourEncoder(), states=states)("echo", {"word": "no"})
    assert isinstance(built, EchoAnswerer) and built.states is states


def test_the_api_lists_it_and_queries_take_it(harness: ApiHarness) -> None:
    assert {"echo", "echo-vlm"} <= set(harness.call("GET", "/api/answerers", READ).json())
    created = harness.create(answerer="echo", settings={"word": "maybe"})
    assert (created["answerer"], created["settings"]) == ("echo", {"word": "maybe"})


def test_feedwatch_run_takes_it_and_asks_for_a_vlm_only_when_it_uses_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli.commands import run as run_command

    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"\x00" * 16)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(run_command, "execute", lambda args, *_: seen.update(args=args))
    assert main(["run", str(clip), "--ask", "x", "--answerer", "echo", "--set", "word=no"]) == 0
    assert (seen["args"].answerer, seen["args"].answerer_settings) == ("echo", (("word", "no"),))
    assert main(["run", str(clip), "--ask", "x", "--answerer", "echo-vlm"]) == 2
    assert "--vlm" in capsys.readouterr().err


def test_alerts_read_whether_a_vlm_wrote_the_text() -> None:
    def answer(answerer: str) -> Answer:
        return Answer("q", "is there a red circle?", "cam", 0.0, 4.0, 4.0, answerer,
                      "Yes. A red circle.", True, 1.0, (), (), 0, 1.0)

    verified = Condition(ConditionKind.VERIFIED)
    assert vlm_description(answer("echo-vlm")) == "A red circle."
    assert verified.holds(answer("echo-vlm"), None)
    assert vlm_description(answer("echo")) is None and not verified.holds(answer("echo"), None)


class CountingEncoder(ColourEncoder):
    """The colour encoder with the vision-pass counter the bench reads."""

    vision_frames_encoded = 0

    def encode_frames(self, frames: Any) -> Any:
        self.vision_frames_encoded += len(frames)
        return super().encode_frames(frames)


def test_bench_questions_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models import clip_encoder
    from workers.cli.commands.bench import questions

    monkeypatch.setattr(clip_encoder.ClipEncoder, "from_spec",
                        staticmethod(lambda *a, **k: CountingEncoder()))
    res = CliRunner().invoke(questions.command, ["--answerer", "echo", "--frames", "3", "--qs",
                                                 "1,2", "--reference-max-q", "1", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["answerer"] == "echo" and [r["answers"] for r in out["rows"]] == [1, 2]
